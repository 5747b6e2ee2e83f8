/-
Shape rules: the twin of each Python op's `shape(attrs, in_shapes)`.

`opShape op attrs ins` is `some s` exactly when the Python rule returns `s` (and `none` where it
raises a ShapeError); `pytorch2lean/ops/*.py` holds the rules it mirrors, and the tests compare
both sides on generated graphs, including ones that must be rejected.
-/
import Pytorch2Lean.IR

namespace Pytorch2Lean

/-- `o >>= f` for options (the substitute core library has no `Option` monad). -/
def obind {α β : Type} (o : Option α) (f : α → Option β) : Option β :=
  match o with
  | some a => f a
  | none => none

/-- `k` when `b` holds, otherwise `none`. -/
def guard {α : Type} (b : Bool) (k : Option α) : Option α := cond b k none

/-- All entries as natural numbers if the list has length `len` and every entry is `≥ least`. -/
def intsAtLeast (l : List Int) (len : Nat) (least : Int) : Option (List Nat) :=
  guard (Nat.beq l.length len && l.all (fun i => decide (least ≤ i)))
    (some (l.map Int.natAbs))

/-- A possibly negative axis as an index into a shape of rank `rank` (Python `norm_axis`). -/
def normAxis (axis : Int) (rank : Nat) : Option Nat :=
  guard (decide (-(rank : Int) ≤ axis) && decide (axis < (rank : Int)))
    (some (cond (decide (axis < 0)) (axis + (rank : Int)).natAbs axis.natAbs))

/-- The last element of a list. -/
def lastD (l : List Nat) : Nat := nthD l (Nat.sub l.length 1) 0

/-- The list without its last `k` elements. -/
def dropLastN {α : Type} (l : List α) (k : Nat) : List α := l.take (Nat.sub l.length k)

/-- NumPy broadcasting of two shapes given innermost axis first. -/
def broadcastRev : List Nat → List Nat → Option (List Nat)
  | [], bs => some bs
  | as, [] => some as
  | a :: as, b :: bs =>
    guard (Nat.beq a b || Nat.beq a 1 || Nat.beq b 1)
      ((broadcastRev as bs).map (fun r => natMax a b :: r))

/-- NumPy/ONNX multidirectional broadcasting (Python `base.broadcast`). -/
def broadcast (a b : Shape) : Option Shape :=
  (broadcastRev a.reverse b.reverse).map List.reverse

/-- `linear`: x `(..., in)`, weight `(out, in)`, bias `(out,)` → `(..., out)`. -/
def linearShape : List Shape → Option Shape
  | x :: [o, i] :: rest =>
    guard (!(isNil x) && Nat.beq (lastD x) i &&
        (match rest with
          | [] => true
          | [b] => decide (b = [o])
          | _ => false))
      (some (dropLastN x 1 ++ [o]))
  | _ => none

/-- `matmul`: `numpy.matmul` on per-sample shapes (1-D promotion, broadcast stack axes). -/
def matmulShape (a b : Shape) : Option Shape :=
  let pa := cond (Nat.beq a.length 1) (1 :: a) a
  let pb := cond (Nat.beq b.length 1) (b ++ [1]) b
  guard (!(isNil a) && !(isNil b) && Nat.beq (lastD pa) (nthD pb (Nat.sub pb.length 2) 0))
    ((broadcast (dropLastN pa 2) (dropLastN pb 2)).map (fun stack =>
      stack ++ cond (Nat.ble 2 a.length) [nthD pa (Nat.sub pa.length 2) 0] [] ++
        cond (Nat.ble 2 b.length) [lastD pb] []))

/-- A sliding window along one spatial axis (Python `conv.Span`). -/
structure Span where
  /-- Input size along the axis. -/
  size : Nat
  /-- Kernel taps. -/
  kernel : Nat
  /-- Step between windows. -/
  stride : Nat
  /-- Spacing between taps. -/
  dilation : Nat
  /-- Padding before the input. -/
  before : Nat
  /-- Padding after the input. -/
  after : Nat
  /-- ONNX `ceil_mode`. -/
  ceil : Bool

namespace Span

/-- Input cells covered by one dilated window. -/
def extent (s : Span) : Nat := s.dilation * (s.kernel - 1) + 1

/-- `true` when the window fits in the padded input at least once. -/
def fits (s : Span) : Bool := Nat.ble s.extent (s.size + s.before + s.after)

/-- ONNX output size; in ceil mode a last window starting in the end padding is dropped. -/
def out (s : Span) : Nat :=
  let room := s.size + s.before + s.after - s.extent
  cond s.ceil
    (let o := (room + s.stride - 1) / s.stride + 1
     cond (Nat.ble (s.size + s.before) ((o - 1) * s.stride)) (o - 1) o)
    (room / s.stride + 1)

/-- `true` when some tap of output position `o` reads a real input cell, not padding. -/
def windowTouches (s : Span) (o : Nat) : Bool :=
  (List.range s.kernel).any (fun i =>
    Nat.ble s.before (o * s.stride + i * s.dilation) &&
      natLt (o * s.stride + i * s.dilation) (s.size + s.before))

/-- `true` when every window covers at least one real input cell. -/
def touches (s : Span) : Bool := allBelow s.out s.windowTouches

end Span

/-- The height and width spans of a window op on spatial size `(h, w)`. -/
def spans (h w : Nat) (kernel stride dilation padding : List Nat) (ceil : Bool) : Span × Span :=
  (⟨h, nthD kernel 0 1, nthD stride 0 1, nthD dilation 0 1, nthD padding 0 0, nthD padding 2 0, ceil⟩,
   ⟨w, nthD kernel 1 1, nthD stride 1 1, nthD dilation 1 1, nthD padding 1 0, nthD padding 3 0, ceil⟩)

/-- `true` for the shape of an image: `(N, C, H, W)` or `(C, H, W)`. -/
def isImage (x : Shape) : Bool := Nat.beq x.length 3 || Nat.beq x.length 4

/-- Window attributes: `(stride, dilation, padding)` with two, two and four entries, at least
1, 1 and 0 (Python `check_ints`); `dilation` is `[1, 1]` when the op has none. -/
def windowAttrs (attrs : Attrs) (hasDilation : Bool) : Option (List Nat × List Nat × List Nat) :=
  obind (obind (attrInts attrs .stride) (intsAtLeast · 2 1)) fun stride =>
  obind (obind (attrInts attrs .padding) (intsAtLeast · 4 0)) fun padding =>
  obind (cond hasDilation (obind (attrInts attrs .dilation) (intsAtLeast · 2 1)) (some [1, 1]))
    fun dilation => some (stride, dilation, padding)

/-- `conv2d`: x `(N, C, H, W)` or `(C, H, W)`, weight `(O, C/groups, kH, kW)`, bias `(O,)`. -/
def conv2dShape (attrs : Attrs) : List Shape → Option Shape
  | x :: [o, cg, kh, kw] :: rest =>
    obind (windowAttrs attrs true) fun (stride, dilation, padding) =>
    obind (attrInt attrs .groups) fun groups =>
    let g := groups.natAbs
    let c := nthD x (Nat.sub x.length 3) 0
    let sp := spans (nthD x (Nat.sub x.length 2) 0) (lastD x) [kh, kw] stride dilation padding false
    guard (isImage x && decide (1 ≤ groups) && Nat.beq (c % g) 0 && Nat.beq (o % g) 0 &&
        Nat.beq cg (c / g) && sp.1.fits && sp.2.fits &&
        (match rest with
          | [] => true
          | [b] => decide (b = [o])
          | _ => false))
      (some (dropLastN x 3 ++ [o, sp.1.out, sp.2.out]))
  | _ => none

/-- `maxpool2d` (`hasDilation`) and `avgpool2d`: every window must fit and touch the input. -/
def poolShape (hasDilation : Bool) (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    obind (windowAttrs attrs hasDilation) fun (stride, dilation, padding) =>
    obind (obind (attrInts attrs .kernel) (intsAtLeast · 2 1)) fun kernel =>
    obind (attrBool attrs .ceilMode) fun ceil =>
    let sp := spans (nthD x (Nat.sub x.length 2) 0) (lastD x) kernel stride dilation padding ceil
    guard (isImage x && sp.1.fits && sp.2.fits && sp.1.touches && sp.2.touches)
      (some (dropLastN x 2 ++ [sp.1.out, sp.2.out]))
  | _ => none

/-- `flatten`: `(prod d[:axis], prod d[axis:])` for `axis` in `[-rank, rank]`. -/
def flattenShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    obind (attrInt attrs .axis) fun axis =>
    guard (decide (-(x.length : Int) ≤ axis) && decide (axis ≤ (x.length : Int)))
      (let split := cond (decide (axis < 0)) (axis + (x.length : Int)).natAbs axis.natAbs
       some [prod (x.take split), prod (x.drop split)])
  | _ => none

/-- `reshape`: a static target of positive sizes holding as many elements as `x`. -/
def reshapeShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    obind (attrInts attrs .shape) fun target =>
    guard (target.all (fun d => decide (1 ≤ d)) &&
        Nat.beq (prod (target.map Int.natAbs)) (prod x))
      (some (target.map Int.natAbs))
  | _ => none

/-- `true` when `perm` lists each of `0, ..., rank-1` once. -/
def isPerm (perm : List Int) (rank : Nat) : Bool :=
  Nat.beq perm.length rank && perm.all (fun p => decide (0 ≤ p) && decide (p < (rank : Int))) &&
    nodupNat (perm.map Int.natAbs)

/-- `transpose`: output axis `i` is input axis `perm[i]`. -/
def transposeShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    obind (attrInts attrs .perm) fun perm =>
    guard (isPerm perm x.length) (some (perm.map (fun p => nthD x p.natAbs 0)))
  | _ => none

/-- The shape without axis `k`. -/
def dropAxis (s : Shape) (k : Nat) : Shape := s.take k ++ s.drop (k + 1)

/-- `concat`: same rank, same dimensions except along `axis`, whose sizes add up. -/
def concatShape (attrs : Attrs) : List Shape → Option Shape
  | [] => none
  | first :: rest =>
    obind (attrInt attrs .axis) fun axis =>
    obind (normAxis axis first.length) fun k =>
    guard (rest.all (fun s => Nat.beq s.length first.length && decide (dropAxis s k = dropAxis first k)))
      (some (first.take k ++ [((first :: rest).map (fun s => nthD s k 0)).foldl Nat.add 0] ++
        first.drop (k + 1)))

/-- A start or end index clamped like CPython's `slice.indices`: a negative index counts from
the end once, then it is clamped to `[lower, upper]`. -/
def clampIndex (i len lower upper : Int) : Int :=
  cond (decide (i < 0))
    (cond (decide (i + len < lower)) lower (i + len))
    (cond (decide (upper < i)) upper i)

/-- `(start, count)` of `range(*slice(start, stop, step).indices(len))` (`step ≠ 0`). -/
def sliceRange (start stop step : Int) (len : Nat) : Int × Nat :=
  let lower : Int := cond (decide (step < 0)) (-1) 0
  let upper : Int := cond (decide (step < 0)) ((len : Int) - 1) len
  let a := clampIndex start len lower upper
  let b := clampIndex stop len lower upper
  cond (decide (0 < step))
    (a, cond (decide (a < b)) ((b - a + step - 1) / step).natAbs 0)
    (a, cond (decide (b < a)) ((a - b - step - 1) / (-step)).natAbs 0)

/-- The per-axis slices `(axis, start, step, count)` of a `slice` node on shape `x`, if valid:
equal list lengths, axes in range and distinct, nonzero steps, no empty result. -/
def sliceAxes (attrs : Attrs) (x : Shape) : Option (List (Nat × Int × Int × Nat)) :=
  obind (attrInts attrs .starts) fun starts =>
  obind (attrInts attrs .ends) fun ends =>
  obind (attrInts attrs .axes) fun axes =>
  obind (attrInts attrs .steps) fun steps =>
  obind (allSome (axes.map (normAxis · x.length))) fun norm =>
  let specs := (List.range axes.length).map (fun j =>
    let a := nthD norm j 0
    let step := nthD steps j 1
    let r := sliceRange (nthD starts j 0) (nthD ends j 0) step (nthD x a 0)
    (a, r.1, step, r.2))
  guard (Nat.beq starts.length axes.length && Nat.beq ends.length axes.length &&
      Nat.beq steps.length axes.length && nodupNat norm &&
      steps.all (fun k => !(decide (k = 0))) && specs.all (fun s => Nat.ble 1 s.2.2.2))
    (some specs)

/-- The slice spec of axis `a`, if that axis is sliced. -/
def sliceSpec (specs : List (Nat × Int × Int × Nat)) (a : Nat) : Option (Nat × Int × Int × Nat) :=
  match specs with
  | [] => none
  | s :: rest => cond (Nat.beq s.1 a) (some s) (sliceSpec rest a)

/-- `slice`: ONNX Slice (Python `slice.indices` on every listed axis). -/
def sliceShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    (sliceAxes attrs x).map (fun specs =>
      (List.range x.length).map (fun a =>
        match sliceSpec specs a with
        | some s => s.2.2.2
        | none => nthD x a 0))
  | _ => none

/-- The `(begin, end)` widths of a `pad` node on shape `x`, if valid: a known mode, `2 * rank`
non-negative pads, and reflection pads smaller than the axis. -/
def padWidths (attrs : Attrs) (x : Shape) : Option (StrVal × List (Nat × Nat)) :=
  obind (attrInts attrs .pads) fun pads =>
  obind (attrStr attrs .mode) fun mode =>
  let r := x.length
  let widths := (List.range r).map (fun a => ((nthD pads a 0).natAbs, (nthD pads (r + a) 0).natAbs))
  guard ((decide (mode = .constant) || decide (mode = .reflect) || decide (mode = .edge)) &&
      Nat.beq pads.length (2 * r) && pads.all (fun p => decide (0 ≤ p)) &&
      (!(decide (mode = .reflect)) ||
        (List.range r).all (fun a => natLt (nthD widths a (0, 0)).1 (nthD x a 0) &&
          natLt (nthD widths a (0, 0)).2 (nthD x a 0))))
    (some (mode, widths))

/-- `pad`: every axis grows by its two widths. -/
def padShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    (padWidths attrs x).map (fun (_, widths) =>
      (List.range x.length).map (fun a =>
        nthD x a 0 + (nthD widths a (0, 0)).1 + (nthD widths a (0, 0)).2))
  | _ => none

/-- `batchnorm`: the four statistics have shape `(x[axis],)`. -/
def batchnormShape (attrs : Attrs) : List Shape → Option Shape
  | [x, s, b, m, v] =>
    obind (attrInt attrs .axis) fun axis =>
    obind (normAxis axis x.length) fun k =>
    guard ([s, b, m, v].all (fun p => decide (p = [nthD x k 0]))) (some x)
  | _ => none

/-- `softmax`: the shape of `x`, for an axis in range. -/
def softmaxShape (attrs : Attrs) : List Shape → Option Shape
  | [x] => obind (attrInt attrs .axis) fun axis => (normAxis axis x.length).map (fun _ => x)
  | _ => none

/-- `masked_softmax`: the shape of `x` (at least one axis), the mask broadcasting to it
without growing it. -/
def maskedSoftmaxShape : List Shape → Option Shape
  | [x, m] => guard (!(isNil x) && decide (broadcast x m = some x)) (some x)
  | _ => none

/-- `embedding`: ids of shape `S` and a table `(V, *R)` (at least one axis) give `S ++ R`. -/
def embeddingShape : List Shape → Option Shape
  | [ids, _ :: row] => some (ids ++ row)
  | _ => none

/-- `layernorm`: scale (and bias) have the normalized trailing shape `x[axis:]`. -/
def layernormShape (attrs : Attrs) : List Shape → Option Shape
  | x :: ps =>
    obind (attrInt attrs .axis) fun axis =>
    obind (normAxis axis x.length) fun k =>
    guard (ps.all (fun p => decide (p = x.drop k))) (some x)
  | _ => none

/-- `gelu`: the shape of `x`, for a known approximation. -/
def geluShape (attrs : Attrs) : List Shape → Option Shape
  | [x] =>
    obind (attrStr attrs .approximate) fun a =>
    guard (decide (a = .none) || decide (a = .tanh)) (some x)
  | _ => none

/-- Elementwise ops of one operand keep its shape. -/
def unaryShape : List Shape → Option Shape
  | [x] => some x
  | _ => none

/-- Elementwise ops of two operands broadcast. -/
def binaryShape : List Shape → Option Shape
  | [a, b] => broadcast a b
  | _ => none

/-- The output shape of `op` on operands of shapes `ins`, or `none` where the Python rule raises
a ShapeError. -/
def opShape (op : OpTag) (attrs : Attrs) (ins : List Shape) : Option Shape :=
  match op with
  | .add | .sub | .mul | .div => binaryShape ins
  | .neg | .relu | .leakyRelu | .sigmoid | .tanh => unaryShape ins
  | .linear => linearShape ins
  | .matmul =>
    match ins with
    | [a, b] => matmulShape a b
    | _ => none
  | .conv2d => conv2dShape attrs ins
  | .maxpool2d => poolShape true attrs ins
  | .avgpool2d => poolShape false attrs ins
  | .batchnorm => batchnormShape attrs ins
  | .flatten => flattenShape attrs ins
  | .reshape => reshapeShape attrs ins
  | .transpose => transposeShape attrs ins
  | .concat => concatShape attrs ins
  | .slice => sliceShape attrs ins
  | .pad => padShape attrs ins
  | .softmax => softmaxShape attrs ins
  | .maskedSoftmax => maskedSoftmaxShape ins
  | .layernorm => layernormShape attrs ins
  | .gelu => geluShape attrs ins
  | .embedding => embeddingShape ins

end Pytorch2Lean
