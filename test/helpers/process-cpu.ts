import { readFileSync } from 'node:fs';

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
