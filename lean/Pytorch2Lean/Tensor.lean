/-
Row-major tensors over `Q` and the index arithmetic the ops share.

A tensor is its shape and the flat list of its elements in row-major order (last axis fastest),
as NumPy stores a C-contiguous array. Ops that move elements (broadcasting, transpose, slice,
pad, windows) compute, for every output position, the flat index of the input element it reads
(`strided`), then read all of them from a balanced tree (`Vec`) in `O(log n)` each.
-/
import Pytorch2Lean.Q
import Pytorch2Lean.Shapes

namespace Pytorch2Lean

/-- A value of the network: its shape and its elements in row-major order. -/
structure Tensor where
  /-- The shape. -/
  shape : Shape
  /-- The elements, last axis fastest; `prod shape` of them. -/
  data : List Q

/-- A running sum `(-1)^neg * num / den`, not kept in lowest terms: float32 values, their
products and their sums have power-of-two denominators, so one denominator divides the other,
the larger one is a common denominator, and one reduction at the end (`Acc.toQ`) suffices. -/
structure Acc where
  /-- `true` for a negative sum. -/
  neg : Bool
  /-- The magnitude of the numerator. -/
  num : Nat
  /-- A positive denominator. -/
  den : Nat

/-- `true` when both signs are equal. -/
def sameSign : Bool → Bool → Bool
  | true, true => true
  | false, false => true
  | _, _ => false

/-- `(-1)^s x / d + (-1)^t y / d`. -/
def Acc.over (s : Bool) (x : Nat) (t : Bool) (y d : Nat) : Acc :=
  cond (sameSign s t) ⟨s, Nat.add x y, d⟩
    (cond (Nat.ble y x) ⟨s, Nat.sub x y, d⟩ ⟨t, Nat.sub y x, d⟩)

/-- `acc + (-1)^s n / d`, over the larger denominator when one divides the other. Divisibility
is tested by a checked product (`d * (acc.den / d) = acc.den`), not by a remainder, so that the
value lemmas (`QOrder`) read the common denominator off the test itself. -/
def Acc.add (acc : Acc) (s : Bool) (n d : Nat) : Acc :=
  cond (Nat.beq (Nat.mul d (Nat.div acc.den d)) acc.den)
    (Acc.over acc.neg acc.num s (Nat.mul n (Nat.div acc.den d)) acc.den)
    (cond (Nat.beq (Nat.mul acc.den (Nat.div d acc.den)) d)
      (Acc.over acc.neg (Nat.mul acc.num (Nat.div d acc.den)) s n d)
      (Acc.over acc.neg (Nat.mul acc.num d) s (Nat.mul n acc.den) (Nat.mul acc.den d)))

/-- `acc + a * b`. -/
def Acc.addMul (acc : Acc) (a b : Q) : Acc :=
  cond (Nat.beq a.num (nat_lit 0) || Nat.beq b.num (nat_lit 0)) acc
    (acc.add (a.neg != b.neg) (Nat.mul a.num b.num) (Nat.mul a.den b.den))

/-- The rational `q` as a running sum. -/
def Acc.ofQ (q : Q) : Acc := ⟨q.neg, q.num, q.den⟩

/-- The sum, in lowest terms. -/
def Acc.toQ (acc : Acc) : Q := Q.make acc.neg acc.num acc.den

/-- `k n`, with `n` evaluated and passed on as a fresh numeral (`Nat.succ m` of a literal `m`). -/
def natFresh {α : Type} (n : Nat) (k : Nat → α) : α :=
  match n with
  | 0 => k 0
  | m + 1 => k (Nat.succ m)

/-- `k acc`, with the fields of `acc` evaluated and rebuilt from numerals. The kernel evaluates
lazily and keeps terms as they were built: without this, the running sum of step `i` would be a
term holding the sums of all earlier steps, and long sums would cost quadratic time and deep
recursion. -/
def Acc.strict {α : Type} (acc : Acc) (k : Acc → α) : α :=
  match acc with
  | ⟨s, n, d⟩ => natFresh n fun n' => natFresh d fun d' => cond s (k ⟨true, n', d'⟩) (k ⟨false, n', d'⟩)

/-- `acc + Σ l`. -/
def sumAcc : List Q → Acc → Acc
  | [], acc => acc
  | q :: qs, acc => (acc.add q.neg q.num q.den).strict (sumAcc qs)

/-- The sum of a list of rationals. -/
def sumQ (l : List Q) : Q := (sumAcc l (Acc.ofQ Q.zero)).toQ

/-- `acc + Σ a_i * b_i`. -/
def dotAcc : List Q → List Q → Acc → Acc
  | a :: as, b :: bs, acc => (acc.addMul a b).strict (dotAcc as bs)
  | _, _, acc => acc

/-- `init + Σ a_i * b_i` (the shorter list decides the length). -/
def dot (a b : List Q) (init : Q) : Q := (dotAcc a b (Acc.ofQ init)).toQ

/-- `acc + Σ w * x` over a list of pairs. -/
def productsAcc : List (Q × Q) → Acc → Acc
  | [], acc => acc
  | p :: ps, acc => (acc.addMul p.1 p.2).strict (productsAcc ps)

/-- `init + Σ w * x` over a list of pairs. -/
def sumProducts (pairs : List (Q × Q)) (init : Q) : Q := (productsAcc pairs (Acc.ofQ init)).toQ

/-- The largest element (the first element of a non-empty list starts the comparison;
the empty list gives zero, which no well-formed window produces). -/
def maxQ : List Q → Q
  | [] => Q.zero
  | a :: as => as.foldl Q.max a

/-- `f` applied to every element of `l`, each giving a list, concatenated. -/
def concatMap {α β : Type} (f : α → List β) : List α → List β
  | [] => []
  | a :: as => f a ++ concatMap f as

/-- Consecutive blocks of `k` elements; `n` blocks. -/
def chunks {α : Type} (k : Nat) : Nat → List α → List (List α)
  | 0, _ => []
  | n + 1, l => l.take k :: chunks k n (l.drop k)

/-- The first element, or `d`. -/
def headD {α : Type} (l : List α) (d : α) : α :=
  match l with
  | [] => d
  | a :: _ => a

/-- `f a b` for each pair of elements at the same position (the shorter list decides). -/
def zipWithL {α β γ : Type} (f : α → β → γ) : List α → List β → List γ
  | a :: as, b :: bs => f a b :: zipWithL f as bs
  | _, _ => []

/-- The `n` columns of a few rows (the kernel recurses once per row here). -/
def blockColumns {α : Type} (n : Nat) (rows : List (List α)) : List (List α) :=
  rows.foldr (fun row cols => zipWithL List.cons row cols) (List.replicate n [])

/-- The `n` columns of a matrix given by its rows: blocks of 64 rows are transposed, then the
columns of the blocks are joined, so the kernel's recursion depth stays bounded by the number of
blocks rather than the number of rows. -/
def columns {α : Type} (n : Nat) (rows : List (List α)) : List (List α) :=
  (chunks 64 (Nat.div (Nat.add rows.length 63) 64) rows).foldr
    (fun block cols => zipWithL (· ++ ·) (blockColumns n block) cols) (List.replicate n [])

/-- Row-major strides of a shape. -/
def stridesOf : Shape → List Nat
  | [] => []
  | _ :: ds => prod ds :: stridesOf ds

/-- The flat indices `offset + Σ i_k * strides_k` for every multi-index `i` of `dims`, in
row-major order. Stride 0 repeats an element (broadcasting); negative strides walk backwards
(slices with negative steps). -/
def strided : List Nat → List Int → Int → List Nat
  | [], _, offset => [offset.natAbs]
  | d :: ds, st :: sts, offset =>
    concatMap (fun (i : Nat) => strided ds sts (offset + Int.ofNat i * st)) (List.range d)
  | _ :: _, [], _ => []

/-- A complete binary tree holding up to `2^depth` elements, for random access. -/
inductive Tree where
  | leaf (q : Q)
  | node (l r : Tree)
  | empty

/-- A tree of depth `d` over the first `2^d` elements of `l`, and the elements left over. -/
def Tree.build : Nat → List Q → Tree × List Q
  | 0, [] => (.empty, [])
  | 0, q :: qs => (.leaf q, qs)
  | d + 1, l =>
    match Tree.build d l with
    | (a, rest) =>
      match Tree.build d rest with
      | (b, rest') => (.node a b, rest')

/-- Element `i` of a tree of depth `d` (zero past the end). -/
def Tree.get : Nat → Tree → Nat → Q
  | 0, .leaf q, _ => q
  | d + 1, .node a b, i =>
    cond (Nat.beq (Nat.land (Nat.shiftRight i d) (nat_lit 1)) (nat_lit 1))
      (Tree.get d b (Nat.sub i (Nat.shiftLeft (nat_lit 1) d))) (Tree.get d a i)
  | _, _, _ => Q.zero

/-- A list stored for random access: the depth of its tree and the tree. -/
structure Vec where
  /-- The depth of the tree. -/
  depth : Nat
  /-- The elements. -/
  tree : Tree

/-- The list `l` for random access. -/
def Vec.ofList (l : List Q) : Vec :=
  ⟨Nat.add (Nat.log2 l.length) (nat_lit 1), (Tree.build (Nat.add (Nat.log2 l.length) (nat_lit 1)) l).1⟩

/-- Element `i`. -/
def Vec.get (v : Vec) (i : Nat) : Q := Tree.get v.depth v.tree i

/-- The elements of `l` at the given flat indices. -/
def gather (l : List Q) (idx : List Nat) : List Q := idx.map (Vec.ofList l).get

/-- The flat indices of the input element that each output position of shape `o` reads when
the input of shape `s` is broadcast to `o` (NumPy rules: align trailing axes, size-1 axes
repeat). -/
def broadcastIndex (s o : Shape) : List Nat :=
  let padded := List.replicate (o.length - s.length) 1 ++ s
  strided o (zipWithL (fun d st => cond (Nat.beq d 1) 0 (Int.ofNat st)) padded (stridesOf padded)) 0

/-- The elements of tensor `t` broadcast to shape `o`. -/
def broadcastTo (t : Tensor) (o : Shape) : List Q :=
  cond (decide (t.shape = o)) t.data (gather t.data (broadcastIndex t.shape o))

end Pytorch2Lean
