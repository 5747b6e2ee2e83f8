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

/-- The sum of a list of rationals. -/
def sumQ (l : List Q) : Q := l.foldl Q.add Q.zero

/-- `Σ a_i * b_i`. -/
def dot : List Q → List Q → Q → Q
  | a :: as, b :: bs, acc => dot as bs (Q.add acc (Q.mul a b))
  | _, _, acc => acc

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

/-- The list without its first element. -/
def tailL {α : Type} : List α → List α
  | [] => []
  | _ :: as => as

/-- The `n` columns of a matrix given by its rows. -/
def columns : Nat → List (List Q) → List (List Q)
  | 0, _ => []
  | n + 1, rows => rows.map (headD · Q.zero) :: columns n (rows.map tailL)

/-- `f a b` for each pair of elements at the same position (the shorter list decides). -/
def zipWithL {α β γ : Type} (f : α → β → γ) : List α → List β → List γ
  | a :: as, b :: bs => f a b :: zipWithL f as bs
  | _, _ => []

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
