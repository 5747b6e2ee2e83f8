/-
The meaning of a graph: `denote E g params inputs`, the exact output of every output value.

Exact ops (all but seven) are evaluated over `Q`, mirroring each Python kernel run on `Fraction`s
(`pytorch2lean.runtime.evaluate_exact`). The seven ops that need `exp`, `sqrt`, `tanh` or `erf`
(`sigmoid`, `tanh`, `batchnorm`, `softmax`, `masked_softmax`, `layernorm`, `gelu`) are evaluated through the
functions of an `Enclosure` `E`, and theorems about them assume `E.Valid`: the properties that
the real functions have. For a graph of exact ops `E` is never used (`denote_exact`).
-/
import Pytorch2Lean.Tensor
import Pytorch2Lean.Float32

namespace Pytorch2Lean

/-- Stand-ins for the real functions that have no exact rational values. -/
structure Enclosure where
  /-- `exp x`. -/
  exp : Q → Q
  /-- `1 / sqrt x`. -/
  rsqrt : Q → Q
  /-- `tanh x`. -/
  tanh : Q → Q
  /-- `1 / (1 + exp (-x))`. -/
  sigmoid : Q → Q
  /-- `x * Φ(x)`, `Φ` the standard normal distribution function. -/
  geluErf : Q → Q
  /-- `x / 2 * (1 + tanh (sqrt (2/π) * (x + 0.044715 x³)))`. -/
  geluTanh : Q → Q

/-- The properties of the real functions that an `Enclosure` is assumed to have. -/
structure Enclosure.Valid (E : Enclosure) : Prop where
  /-- `exp` is positive. -/
  exp_pos : ∀ x, Q.zero < E.exp x
  /-- `exp` is monotone. -/
  exp_mono : ∀ x y, x ≤ y → E.exp x ≤ E.exp y
  /-- `1 / sqrt` is positive on positive numbers. -/
  rsqrt_pos : ∀ x, Q.zero < x → Q.zero < E.rsqrt x
  /-- `1 / sqrt` is antitone on positive numbers. -/
  rsqrt_anti : ∀ x y, Q.zero < x → x ≤ y → E.rsqrt y ≤ E.rsqrt x
  /-- `tanh` is monotone. -/
  tanh_mono : ∀ x y, x ≤ y → E.tanh x ≤ E.tanh y
  /-- `tanh` lies in `[-1, 1]`. -/
  tanh_range : ∀ x, Q.neg' Q.one ≤ E.tanh x ∧ E.tanh x ≤ Q.one
  /-- The logistic function is monotone. -/
  sigmoid_mono : ∀ x y, x ≤ y → E.sigmoid x ≤ E.sigmoid y
  /-- The logistic function lies in `[0, 1]`. -/
  sigmoid_range : ∀ x, Q.zero ≤ E.sigmoid x ∧ E.sigmoid x ≤ Q.one
  /-- GELU lies between `min x 0` and `max x 0`. -/
  geluErf_range : ∀ x, Q.min x Q.zero ≤ E.geluErf x ∧ E.geluErf x ≤ Q.max x Q.zero
  /-- The tanh form of GELU lies between `min x 0` and `max x 0`. -/
  geluTanh_range : ∀ x, Q.min x Q.zero ≤ E.geluTanh x ∧ E.geluTanh x ≤ Q.max x Q.zero

/-- An enclosure for graphs of exact ops only, where none of its functions is ever called. -/
def Enclosure.unused : Enclosure := ⟨fun _ => Q.zero, fun _ => Q.zero, fun _ => Q.zero,
  fun _ => Q.zero, fun _ => Q.zero, fun _ => Q.zero⟩

/-- `some (f x)` for the decoded float32 attribute `k`, if present and finite. -/
def withFloat {α : Type} (attrs : Attrs) (k : AttrKey) (f : Q → Option α) : Option α :=
  obind (attrFloat attrs k) fun bits => obind (decodeF32 bits) f

/-! ### Elementwise ops -/

/-- `relu x = x` if `x > 0`, else `0`. -/
def reluQ (x : Q) : Q := cond (Q.blt Q.zero x) x Q.zero

/-- `leaky_relu x = x` if `x > 0`, else `alpha * x`. -/
def leakyReluQ (alpha x : Q) : Q := cond (Q.blt Q.zero x) x (Q.mul x alpha)

/-- A broadcasting binary op on tensors `a`, `b` with output shape `o`. -/
def binaryEval (f : Q → Q → Q) (a b : Tensor) (o : Shape) : List Q :=
  zipWithL f (broadcastTo a o) (broadcastTo b o)

/-- Division, `none` if a divisor is zero (Python raises `ZeroDivisionError`). -/
def divEval (a b : Tensor) (o : Shape) : Option (List Q) :=
  let d := broadcastTo b o
  guard (!(d.any Q.isZero)) (some (zipWithL Q.div (broadcastTo a o) d))

/-! ### Dense products -/

/-- `linear`: every row `r` of `x` (last axis) becomes `[dot r w_j + b_j]_j`. -/
def linearEval (x w : Tensor) (bias : Option Tensor) : List Q :=
  let k := lastD w.shape
  let out := headD w.shape 0
  let rows := chunks k (prod x.shape / k) x.data
  let ws := chunks k out w.data
  let bs := match bias with
    | some b => b.data
    | none => List.replicate out Q.zero
  concatMap (fun r => zipWithL (fun wr b => dot r wr b) ws bs) rows

/-- The structure of one matrix product: `f row column` for each of the `m` rows (of `k`
elements) of `a` and each of the `n` columns of the `k × n` matrix `b`, row by row. -/
def matmul2With {α β γ : Type} (f : List α → List β → γ) (a : List α) (b : List β) (k n m : Nat) :
    List γ :=
  let cols := columns n (chunks n k b)
  concatMap (fun r => cols.map (f r)) (chunks k m a)

/-- One matrix product: `m × k` rows times the `n` columns of a `k × n` matrix. -/
def matmul2 (a b : List Q) (k n : Nat) (m : Nat) : List Q :=
  matmul2With (fun r c => dot r c Q.zero) a b k n m

/-- `matmul`'s structure with NumPy semantics, for operands of shapes `sa`, `sb` with elements
`a`, `b`: 1-D operands are promoted (and the promoted axis dropped), stack axes broadcast, and
`pair A B k n m` combines each stacked pair of an `m × k` matrix `A` and a `k × n` matrix `B`
(row-major) into the `m × n` block of the result. -/
def matmulBlocks {α β γ : Type} (pair : List α → List β → Nat → Nat → Nat → List γ) (sa : Shape)
    (a : List α) (sb : Shape) (b : List β) : List γ :=
  let pa := cond (Nat.beq sa.length 1) (1 :: sa) sa
  let pb := cond (Nat.beq sb.length 1) (sb ++ [1]) sb
  let m := nthD pa (pa.length - 2) 0
  let k := lastD pa
  let n := lastD pb
  let sa' := dropLastN pa 2
  let sb' := dropLastN pb 2
  let stack := (broadcast sa' sb').getD []
  let blocksA := chunks (m * k) (prod sa') a
  let blocksB := chunks (k * n) (prod sb') b
  concatMap (fun (ij : Nat × Nat) => pair (nthD blocksA ij.1 []) (nthD blocksB ij.2 []) k n m)
    (zipWithL Prod.mk (broadcastIndex sa' stack) (broadcastIndex sb' stack))

/-- `matmulBlocks` on two tensors. -/
def matmulWith (pair : List Q → List Q → Nat → Nat → Nat → List Q) (a b : Tensor) : List Q :=
  matmulBlocks pair a.shape a.data b.shape b.data

/-- `matmul` with NumPy semantics: each stacked pair of matrices is multiplied. -/
def matmulEval (a b : Tensor) : List Q := matmulWith matmul2 a b

/-! ### Sliding windows -/

/-- `(tap, input index)` of the taps of output position `o` that read a real input cell. -/
def windowCells (s : Span) (o : Nat) : List (Nat × Nat) :=
  concatMap (fun i =>
    let p := o * s.stride + i * s.dilation
    cond (Nat.ble s.before p && natLt p (s.size + s.before)) [(i, p - s.before)] [])
    (List.range s.kernel)

/-- How many taps of output position `o` a mean divides by: real cells, plus (with
`countPad`) cells of the stated padding, never the cells read past it in ceil mode. -/
def windowCount (s : Span) (countPad : Bool) (o : Nat) : Nat :=
  ((List.range s.kernel).filter (fun i =>
    let p := o * s.stride + i * s.dilation
    cond countPad (natLt p (s.size + s.before + s.after))
      (Nat.ble s.before p && natLt p (s.size + s.before)))).length

/-- The structure of `conv2d` on an input of shape `x` with weights of shape `w`: for each output
(image, output channel, position; row-major), its taps, the `(weight index, input index)` pairs
of the weights with the real input cells under the window (zero padding adds nothing), and its
output channel. -/
def conv2dIndex (attrs : Attrs) (x w : Shape) : Option (List (List (Nat × Nat) × Nat)) :=
  obind (windowAttrs attrs true) fun (stride, dilation, padding) =>
  obind (attrInt attrs .groups) fun groups =>
  match w with
  | [o, cg, kh, kw] =>
    let r := x.length
    let c := nthD x (r - 3) 0
    let h := nthD x (r - 2) 0
    let wd := lastD x
    let sp := spans h wd [kh, kw] stride dilation padding false
    let perGroup := o / groups.natAbs
    let tap := fun (img oc oy ox : Nat) =>
      concatMap (fun ci => concatMap (fun (cy : Nat × Nat) => (windowCells sp.2 ox).map (fun cx =>
        ((((oc * cg + ci) * kh + cy.1) * kw + cx.1),
          (((img * c + (oc / perGroup) * cg + ci) * h + cy.2) * wd + cx.2))))
        (windowCells sp.1 oy)) (List.range cg)
    some (concatMap (fun img => concatMap (fun oc => concatMap (fun oy =>
        (List.range sp.2.out).map (fun ox => (tap img oc oy ox, oc)))
      (List.range sp.1.out)) (List.range o)) (List.range (prod (x.take (r - 3)))))
  | _ => none

/-- `conv2d`: each output is the bias of its channel plus the products of the weights with the
input cells of its taps (`conv2dIndex`). -/
def conv2dEval (attrs : Attrs) (x w : Tensor) (bias : Option Tensor) : Option (List Q) :=
  let xv := Vec.ofList x.data
  let wv := Vec.ofList w.data
  let bs := match bias with
    | some b => b.data
    | none => []
  (conv2dIndex attrs x.shape w.shape).map (List.map (fun out =>
    sumProducts (out.1.map (fun p => (wv.get p.1, xv.get p.2))) (nthD bs out.2 Q.zero)))

/-- `maxpool2d` (`avg = false`) and `avgpool2d`: per plane and output position, the maximum of
the real cells under the window, or their sum divided by the integer count of counted cells. -/
def poolEval (avg : Bool) (attrs : Attrs) (x : Tensor) : Option (List Q) :=
  obind (windowAttrs attrs (!avg)) fun (stride, dilation, padding) =>
  obind (obind (attrInts attrs .kernel) (intsAtLeast · 2 1)) fun kernel =>
  obind (attrBool attrs .ceilMode) fun ceil =>
  obind (cond avg (attrBool attrs .countIncludePad) (some false)) fun countPad =>
  let r := x.shape.length
  let h := nthD x.shape (r - 2) 0
  let wd := lastD x.shape
  let sp := spans h wd kernel stride dilation padding ceil
  let xv := Vec.ofList x.data
  let cells := fun (plane oy ox : Nat) =>
    concatMap (fun (cy : Nat × Nat) => (windowCells sp.2 ox).map (fun cx =>
      xv.get ((plane * h + cy.2) * wd + cx.2))) (windowCells sp.1 oy)
  let reduce := fun (plane oy ox : Nat) =>
    cond avg
      (Q.div (sumQ (cells plane oy ox))
        (Q.ofNat (windowCount sp.1 countPad oy * windowCount sp.2 countPad ox)))
      (maxQ (cells plane oy ox))
  some (concatMap (fun plane => concatMap (fun oy => (List.range sp.2.out).map (reduce plane oy))
    (List.range sp.1.out)) (List.range (prod (x.shape.take (r - 2)))))

/-! ### Moving elements -/

/-- The flat input index each output position of a `transpose` reads (input shape `s`, output
shape `o`): output axis `i` walks input axis `perm[i]`. -/
def transposeIndex (attrs : Attrs) (s o : Shape) : Option (List Nat) :=
  (attrInts attrs .perm).map (fun perm =>
    strided o (perm.map (fun p => Int.ofNat (nthD (stridesOf s) p.natAbs 0))) 0)

/-- `transpose`: output axis `i` walks input axis `perm[i]`. -/
def transposeEval (attrs : Attrs) (x : Tensor) (o : Shape) : Option (List Q) :=
  (transposeIndex attrs x.shape o).map (gather x.data)

/-- `concat` along axis `k`: for each position before the axis, the blocks of every operand. -/
def concatEval (attrs : Attrs) (ts : List Tensor) : Option (List Q) :=
  obind (attrInt attrs .axis) fun axis =>
  let first := (headD ts ⟨[], []⟩).shape
  obind (normAxis axis first.length) fun k =>
  let outer := prod (first.take k)
  let blocks := ts.map (fun t => chunks (prod (t.shape.drop k)) outer t.data)
  some (concatMap (fun j => concatMap (fun bl => nthD bl j []) blocks) (List.range outer))

/-- The flat input index each output position of a `slice` of shape `s` reads: each sliced axis
walks `start, start + step, ...`, `count` times. -/
def sliceIndex (attrs : Attrs) (s : Shape) : Option (List Nat) :=
  (sliceAxes attrs s).map (fun specs =>
    let st := stridesOf s
    let axis := fun (a : Nat) =>
      match sliceSpec specs a with
      | some (_, start, step, count) => (count, step * Int.ofNat (nthD st a 0), start * Int.ofNat (nthD st a 0))
      | none => (nthD s a 0, Int.ofNat (nthD st a 0), (0 : Int))
    let axes := (List.range s.length).map axis
    strided (axes.map (·.1)) (axes.map (·.2.1)) ((axes.map (·.2.2)).foldl Int.add 0))

/-- `slice`: each sliced axis walks `start, start + step, ...`, `count` times. -/
def sliceEval (attrs : Attrs) (x : Tensor) : Option (List Q) :=
  (sliceIndex attrs x.shape).map (gather x.data)

/-- The input index that output index `j` of a padded axis of size `d` reads, `none` for the
constant. Reflection mirrors without repeating the edge; edge mode repeats it. -/
def padSource (mode : StrVal) (d before j : Nat) : Option Nat :=
  cond (Nat.ble before j && natLt (j - before) d) (some (j - before))
    (match mode with
      | .edge => some (cond (Nat.ble before j) (d - 1) 0)
      | .reflect => some (cond (Nat.ble before j) (2 * (d - 1) - (j - before)) (before - j))
      | _ => none)

/-- For every position of the padded shape, the flat input index it reads (or `none`). -/
def padIndex : List (List (Option Nat)) → List Nat → List (Option Nat)
  | [], _ => [some 0]
  | srcs :: rest, st :: sts =>
    concatMap (fun s => (padIndex rest sts).map (fun r =>
      match s, r with
      | some i, some r => some (i * st + r)
      | _, _ => none)) srcs
  | _ :: _, [] => []

/-- `pad`: constant, reflect or edge padding of every axis. -/
def padEval (attrs : Attrs) (x : Tensor) : Option (List Q) :=
  obind (padWidths attrs x.shape) fun (mode, widths) =>
  withFloat attrs .value fun value =>
  let srcs := (List.range x.shape.length).map (fun a =>
    let d := nthD x.shape a 0
    let w := nthD widths a (0, 0)
    (List.range (d + w.1 + w.2)).map (padSource mode d w.1))
  let xv := Vec.ofList x.data
  some ((padIndex srcs (stridesOf x.shape)).map (fun s =>
    match s with
    | some i => xv.get i
    | none => value))

/-! ### Ops through the enclosure -/

/-- Apply `f` to every 1-D fiber along axis `k` of shape `s` (a fiber and its image have the
axis's length), putting the results back in place. -/
def alongAxis (s : Shape) (k : Nat) (data : List Q) (f : List Q → List Q) : List Q :=
  let d := nthD s k 0
  let inner := prod (s.drop (k + 1))
  let outer := prod (s.take k)
  let fibers := concatMap (fun o => (List.range inner).map (fun r =>
      gather data ((List.range d).map (fun j => (o * d + j) * inner + r)))) (List.range outer)
  gather (concatMap f fibers)
    (strided [outer, d, inner] [Int.ofNat (inner * d), 1, Int.ofNat d] 0)

/-- Softmax of a fiber: `exp (x - max) / Σ exp (x - max)`, as the Python kernel computes it. -/
def softmaxFiber (E : Enclosure) (v : List Q) : List Q :=
  let es := v.map (fun x => E.exp (Q.sub x (maxQ v)))
  es.map (fun e => Q.div e (sumQ es))

/-- The entries of `v` whose `keep` entry is nonzero (the kept entries of a masked row). -/
def keptOf : List Q → List Q → List Q
  | k :: ks, x :: xs => cond (Q.isZero k) (keptOf ks xs) (x :: keptOf ks xs)
  | _, _ => []

/-- The row `keep` with each nonzero entry replaced by the next of `vs` and each zero by zero:
results computed on the kept entries put back in place, masked entries exactly zero. -/
def scatterKept : List Q → List Q → List Q
  | [], _ => []
  | k :: ks, vs => cond (Q.isZero k) (Q.zero :: scatterKept ks vs) (headD vs Q.zero :: scatterKept ks (vs.drop 1))

/-- `f row keep` for each row of `x` along its last axis, with the matching row of the mask
`m` broadcast to `x`'s shape. -/
def maskedRows (f : List Q → List Q → List Q) (x m : Tensor) : List Q :=
  let n := lastD x.shape
  let rows := prod x.shape / n
  concatMap (fun (r : List Q × List Q) => f r.1 r.2)
    (zipWithL Prod.mk (chunks n rows x.data) (chunks n rows (broadcastTo m x.shape)))

/-- `masked_softmax`: each row's softmax over its kept entries (nonzero mask), through `E.exp`
as `softmaxFiber`; masked entries are exactly zero, and a fully masked row is all zero. -/
def maskedSoftmaxEval (E : Enclosure) (x m : Tensor) : List Q :=
  maskedRows (fun v keep => scatterKept keep (softmaxFiber E (keptOf keep v))) x m

/-- Normalise a block: `(x - mean) * rsqrt (var + eps) * scale + bias`, biased variance. -/
def layernormBlock (E : Enclosure) (eps : Q) (scale bias : List Q) (v : List Q) : List Q :=
  let n := Q.ofNat v.length
  let centered := v.map (fun x => Q.sub x (Q.div (sumQ v) n))
  let factor := E.rsqrt (Q.add (Q.div (sumQ (centered.map (fun c => Q.mul c c))) n) eps)
  zipWithL Q.add (zipWithL (fun c s => Q.mul (Q.mul c factor) s) centered scale) bias

/-- `batchnorm` along axis `k`: `(x - mean) * (scale * rsqrt (var + eps)) + bias`. -/
def batchnormEval (E : Enclosure) (attrs : Attrs) (x s b m v : Tensor) : Option (List Q) :=
  obind (attrInt attrs .axis) fun axis =>
  obind (normAxis axis x.shape.length) fun k =>
  withFloat attrs .epsilon fun eps =>
  let inner := prod (x.shape.drop (k + 1))
  let c := nthD x.shape k 1
  let factors := zipWithL (fun sc va => Q.mul sc (E.rsqrt (Q.add va eps))) s.data v.data
  some ((List.range x.data.length).map (fun i =>
    let ch := (i / inner) % c
    Q.add (Q.mul (Q.sub (nthD x.data i Q.zero) (nthD m.data ch Q.zero)) (nthD factors ch Q.zero))
      (nthD b.data ch Q.zero)))

/-- `layernorm` over the trailing axes from `axis`. -/
def layernormEval (E : Enclosure) (attrs : Attrs) (x scale : Tensor) (bias : Option Tensor) :
    Option (List Q) :=
  obind (attrInt attrs .axis) fun axis =>
  obind (normAxis axis x.shape.length) fun k =>
  withFloat attrs .epsilon fun eps =>
  let n := prod (x.shape.drop k)
  let bs := match bias with
    | some t => t.data
    | none => List.replicate n Q.zero
  some (concatMap (layernormBlock E eps scale.data bs) (chunks n (prod (x.shape.take k)) x.data))

/-! ### Embedding lookup -/

/-- The row an id selects: `some n` when the id is the natural number `n` below `rows`; a
negative, fractional or too large id selects nothing (the Python runtime refuses it, its
validator keeps every id range within the table). -/
def rowOf (rows : Nat) (q : Q) : Option Nat :=
  guard (!q.neg && Nat.beq q.den (nat_lit 1) && natLt q.num rows) (some q.num)

/-- `embedding`: the rows of the table `w` `(V, *R)` at the ids, one row of `prod R` entries per
id, in the ids' order; `none` if an id selects no row. -/
def embeddingEval (ids w : Tensor) : Option (List Q) :=
  let width := prod (w.shape.drop 1)
  obind (allSome (ids.data.map (rowOf (headD w.shape 0)))) fun rs =>
  some (gather w.data (concatMap (fun r => (List.range width).map (fun j => r * width + j)) rs))

/-! ### The denotation -/

/-- The elements of the output of the exact op `op` on operands `args`, its output shape
being `o`. -/
def evalExact (op : OpTag) (attrs : Attrs) (args : List Tensor) (o : Shape) : Option (List Q) :=
  match op, args with
  | .add, [a, b] => some (binaryEval Q.add a b o)
  | .sub, [a, b] => some (binaryEval Q.sub a b o)
  | .mul, [a, b] => some (binaryEval Q.mul a b o)
  | .div, [a, b] => divEval a b o
  | .neg, [x] => some (x.data.map Q.neg')
  | .relu, [x] => some (x.data.map reluQ)
  | .leakyRelu, [x] => withFloat attrs .alpha fun alpha => some (x.data.map (leakyReluQ alpha))
  | .linear, [x, w] => some (linearEval x w none)
  | .linear, [x, w, b] => some (linearEval x w (some b))
  | .matmul, [a, b] => some (matmulEval a b)
  | .conv2d, [x, w] => conv2dEval attrs x w none
  | .conv2d, [x, w, b] => conv2dEval attrs x w (some b)
  | .maxpool2d, [x] => poolEval false attrs x
  | .avgpool2d, [x] => poolEval true attrs x
  | .flatten, [x] => some x.data
  | .reshape, [x] => some x.data
  | .transpose, [x] => transposeEval attrs x o
  | .concat, ts => concatEval attrs ts
  | .slice, [x] => sliceEval attrs x
  | .pad, [x] => padEval attrs x
  | .embedding, [ids, w] => embeddingEval ids w
  | _, _ => none

/-- The elements of the output of an op without exact meaning, through the enclosure `E`. -/
def evalEnclosed (E : Enclosure) (op : OpTag) (attrs : Attrs) (args : List Tensor) :
    Option (List Q) :=
  match op, args with
  | .sigmoid, [x] => some (x.data.map E.sigmoid)
  | .tanh, [x] => some (x.data.map E.tanh)
  | .gelu, [x] =>
    obind (attrStr attrs .approximate) fun a =>
      some (x.data.map (cond (decide (a = .tanh)) E.geluTanh E.geluErf))
  | .softmax, [x] =>
    obind (attrInt attrs .axis) fun axis =>
    obind (normAxis axis x.shape.length) fun k => some (alongAxis x.shape k x.data (softmaxFiber E))
  | .maskedSoftmax, [x, m] => some (maskedSoftmaxEval E x m)
  | .batchnorm, [x, s, b, m, v] => batchnormEval E attrs x s b m v
  | .layernorm, [x, s] => layernormEval E attrs x s none
  | .layernorm, [x, s, b] => layernormEval E attrs x s (some b)
  | _, _ => none

/-- The elements of the output of `op` on operands `args`, its output shape being `o`. -/
def evalOp (E : Enclosure) (op : OpTag) (attrs : Attrs) (args : List Tensor) (o : Shape) :
    Option (List Q) :=
  cond op.exact (evalExact op attrs args o) (evalEnclosed E op attrs args)

/-- The value of node `n` given the value table `env`. -/
def evalNode (E : Enclosure) (env : List Tensor) (n : Node) : Option Tensor :=
  obind (allSome (n.args.map (nth env))) fun args =>
  obind (opShape n.op n.attrs (args.map Tensor.shape)) fun o =>
  (evalOp E n.op n.attrs args o).map (fun data => ⟨o, data⟩)

/-- The value table after running the nodes in order. -/
def runNodes (E : Enclosure) : List Tensor → List Node → Option (List Tensor)
  | env, [] => some env
  | env, n :: ns =>
    match evalNode E env n with
    | some t => runNodes E (env ++ [t]) ns
    | none => none

/-- `true` when each tensor has `prod shape` elements. -/
def sizesOk : List Shape → List (List Q) → Bool
  | [], [] => true
  | s :: ss, d :: ds => Nat.beq d.length (prod s) && sizesOk ss ds
  | _, _ => false

/-- The outputs of graph `g` (flat, row-major), given the values of its parameters and inputs
in order; `none` if a value has the wrong size, an attribute is missing or not finite, or a
divisor is zero. -/
def denote (E : Enclosure) (g : Graph) (params inputs : List (List Q)) : Option (List (List Q)) :=
  guard (sizesOk g.inputs inputs && sizesOk g.params params)
    (obind (runNodes E (zipWithL Tensor.mk (g.inputs ++ g.params) (inputs ++ params)) g.nodes)
      fun env => allSome (g.outputs.map (fun o => (nth env o).map Tensor.data)))

/-- `true` when each packed tensor `(literal, count)` holds `count` finite float32 values and
`count` is the size of the corresponding shape. -/
def packedOk : List Shape → List (Nat × Nat) → Bool
  | [], [] => true
  | s :: ss, (p, n) :: ps => Nat.beq n (prod s) && tensorOk p n && packedOk ss ps
  | _, _ => false

/-- `true` when the packed parameters fit the graph: one finite float32 tensor per parameter,
of the parameter's size. -/
def checkParams (g : Graph) (packed : List (Nat × Nat)) : Bool := packedOk g.params packed

/-- `packedOk` of no tensors. -/
theorem packedOk_nil : packedOk [] [] = true := rfl

/-- `packedOk` one tensor at a time: its count fits its shape, it decodes (`tensorOk`, proved on its
own), and so do the rest. -/
theorem packedOk_cons (s : Shape) (p n : Nat) {ss : List Shape} {ps : List (Nat × Nat)}
    (count : Nat.beq n (prod s) = true) (ok : tensorOk p n = true) (rest : packedOk ss ps = true) :
    packedOk (s :: ss) ((p, n) :: ps) = true :=
  (congrArg₂ (· && ·) (congrArg₂ (· && ·) count ok) rest).trans rfl

/-- Packed tensors that pass `packedOk` all decode. -/
theorem packedOk_decodes : (shapes : List Shape) → (packed : List (Nat × Nat)) →
    packedOk shapes packed = true → ∃ ps, decodeAll packed = some ps
  | [], [], _ => ⟨[], rfl⟩
  | s :: ss, (p, n) :: ps, h => by
    have h1 := and_true_split h
    have h2 := and_true_split h1.1
    obtain ⟨rest, hr⟩ := packedOk_decodes ss ps h1.2
    refine ⟨(words p n).map f32Q :: rest, ?_⟩
    unfold decodeAll at hr ⊢
    show allSome (decodeTensor p n :: ps.map (fun q => decodeTensor q.1 q.2)) = _
    have hd : decodeTensor p n = some ((words p n).map f32Q) := by
      unfold decodeTensor
      rw [h2.2]
      rfl
    rw [hd]
    simp only [allSome, hr]
  | [], _ :: _, h => Bool.noConfusion h
  | _ :: _, [], h => Bool.noConfusion h

/-- Packed parameters that check decode. -/
theorem checkParams_decodes (g : Graph) (packed : List (Nat × Nat)) (h : checkParams g packed = true) :
    ∃ ps, decodeAll packed = some ps := packedOk_decodes g.params packed h

/-! ### Exact graphs do not depend on the enclosure -/

/-- `true` when every node's op is exact. -/
def allExact (g : Graph) : Bool := g.nodes.all (fun n => n.op.exact)

/-- An exact op is evaluated without the enclosure. -/
theorem evalOp_exact (E E' : Enclosure) (op : OpTag) (h : op.exact = true) (attrs : Attrs)
    (args : List Tensor) (o : Shape) : evalOp E op attrs args o = evalOp E' op attrs args o := by
  unfold evalOp
  rw [h]
  rfl

/-- Nodes of exact ops are evaluated without the enclosure. -/
theorem runNodes_exact (E E' : Enclosure) : (env : List Tensor) → (ns : List Node) →
    ns.all (fun n => n.op.exact) = true → runNodes E env ns = runNodes E' env ns
  | _, [], _ => rfl
  | env, n :: ns, h => by
    have h2 := and_true_split h
    have e : evalNode E env n = evalNode E' env n := by
      unfold evalNode
      cases allSome (n.args.map (nth env)) with
      | none => rfl
      | some args =>
        show obind (opShape n.op n.attrs (args.map Tensor.shape)) _ =
          obind (opShape n.op n.attrs (args.map Tensor.shape)) _
        cases opShape n.op n.attrs (args.map Tensor.shape) with
        | none => rfl
        | some o =>
          show Option.map _ (evalOp E n.op n.attrs args o) = Option.map _ (evalOp E' n.op n.attrs args o)
          rw [evalOp_exact E E' n.op h2.1]
    unfold runNodes
    rw [e]
    cases evalNode E' env n with
    | none => rfl
    | some t => exact runNodes_exact E E' (env ++ [t]) ns h2.2

/-- A graph of exact ops means the same under every enclosure. -/
theorem denote_exact (E E' : Enclosure) (g : Graph) (h : allExact g = true)
    (params inputs : List (List Q)) : denote E g params inputs = denote E' g params inputs := by
  unfold denote
  rw [runNodes_exact E E' _ g.nodes h]

/-- The check behind an exported example theorem: the graph is exact and maps `inputs` to
`outputs`. -/
def checkExample (g : Graph) (params inputs outputs : List (List Q)) : Bool :=
  allExact g && decide (denote Enclosure.unused g params inputs = some outputs)

/-- An example that checks holds for every enclosure. -/
theorem checkExample_sound (g : Graph) (params inputs outputs : List (List Q))
    (h : checkExample g params inputs outputs = true) :
    ∀ E, denote E g params inputs = some outputs := by
  intro E
  have h2 := and_true_split h
  rw [denote_exact E Enclosure.unused g h2.1]
  exact eq_of_decide h2.2

end Pytorch2Lean
