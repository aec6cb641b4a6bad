/**
 * Which published symlinks lead to which files of the tree. A link's entry carries its
 * target's bytes, but the watcher reports an edit under the target's name only: this says
 * which links to look at again with it.
 */
export class LinkIndex {
  readonly #targetOf = new Map<string, string>();

  get size(): number {
    return this.#targetOf.size;
  }

  /** Records that the link at `link` leads to the file at `target` (both relative paths). */
  set(link: string, target: string): void {
    this.#targetOf.set(link, target);
  }

  /** Forgets a path as a link (it was deleted, refused, or is no link now). */
  drop(link: string): void {
    this.#targetOf.delete(link);
  }

  /**
   * The links to look at again when `paths` changed: those whose target is one of them or lies
   * under one of them (a directory moved or deleted), and are not in `paths` already.
   */
  dependents(paths: readonly string[]): string[] {
    if (this.#targetOf.size === 0) return [];
    const changed = new Set(paths);
    const out: string[] = [];
    for (const [link, target] of this.#targetOf) {
      if (changed.has(link)) continue;
      if (changed.has(target) || someAncestorIn(target, changed)) out.push(link);
    }
    return out;
  }
}

function someAncestorIn(path: string, set: ReadonlySet<string>): boolean {
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    if (set.has(path.slice(0, i))) return true;
  }
  return false;
}
