;; FastCDC's rolling loop (the gear hash with normalised chunking), as WebAssembly: the same
;; cuts as `findCut` in fastcdc.ts, at about twice its speed on the master's hot path (every
;; byte it publishes passes through here). `pnpm gen:fastcdc-wasm` turns this file into
;; fastcdc-wasm-bytes.ts; a test checks the two agree.
;;
;; Memory: the gear table at 0 (256 little-endian 32-bit values), the bytes to cut from 1024.
(module
  (memory (export "memory") 1)

  ;; The end (exclusive) of the chunk starting at $start, given bytes up to $end: never
  ;; before $min bytes, never after $max; the stricter mask until $avg bytes, then the looser.
  (func (export "findCut")
    (param $start i32) (param $end i32) (param $min i32) (param $avg i32) (param $max i32)
    (param $maskS i32) (param $maskL i32) (result i32)
    (local $i i32) (local $normal i32) (local $limit i32) (local $fp i32) (local $remaining i32)
    (local.set $remaining (i32.sub (local.get $end) (local.get $start)))
    (if (i32.le_u (local.get $remaining) (local.get $min))
      (then (return (local.get $end))))
    (local.set $limit (i32.add (local.get $start)
      (select (local.get $remaining) (local.get $max)
        (i32.lt_u (local.get $remaining) (local.get $max)))))
    (local.set $normal (i32.add (local.get $start)
      (select (local.get $avg) (local.get $remaining)
        (i32.lt_u (local.get $avg) (local.get $remaining)))))
    (local.set $i (i32.add (local.get $start) (local.get $min)))
    ;; fp = (fp << 1) + gear[byte], wrapping at 32 bits; a cut where fp & mask is 0.
    (block $short
      (loop $bytes
        (br_if $short (i32.ge_u (local.get $i) (local.get $normal)))
        (local.set $fp (i32.add (i32.shl (local.get $fp) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $bytes (i32.and (local.get $fp) (local.get $maskS)))
        (return (local.get $i))))
    (block $long
      (loop $bytes
        (br_if $long (i32.ge_u (local.get $i) (local.get $limit)))
        (local.set $fp (i32.add (i32.shl (local.get $fp) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $bytes (i32.and (local.get $fp) (local.get $maskL)))
        (return (local.get $i))))
    (local.get $limit))
)
