/-
The shape of the theorems checkers prove: for every valid enclosure and every input in a box,
the network has outputs and they lie in a stated set.

`Safe g params box S` is the statement; a checker `check` with soundness theorem
`check g params box cert = true → Safe g params box S` turns one kernel evaluation into it.
-/
import Pytorch2Lean.Denote

namespace Pytorch2Lean

/-- `x` lies in the box `[lo, hi]`, element by element. -/
inductive InBox : List Q → List Q → List Q → Prop
  | nil : InBox [] [] []
  | cons {l h x : Q} {ls hs xs : List Q} : l ≤ x → x ≤ h → InBox ls hs xs →
      InBox (l :: ls) (h :: hs) (x :: xs)

/-- Lower and upper bounds for each input of a graph. -/
abbrev Box := List (List Q × List Q)

/-- Every input lies in its box. -/
inductive InBoxes : Box → List (List Q) → Prop
  | nil : InBoxes [] []
  | cons {lo hi x : List Q} {b : Box} {xs : List (List Q)} : InBox lo hi x → InBoxes b xs →
      InBoxes ((lo, hi) :: b) (x :: xs)

/-- For every enclosure with the properties of the real functions, every input in the box has
outputs (no zero divisor, every size right) and they satisfy `S`. -/
def Safe (g : Graph) (params : List (List Q)) (box : Box) (S : List (List Q) → Prop) : Prop :=
  ∀ E : Enclosure, E.Valid → ∀ xs, InBoxes box xs → ∃ ys, denote E g params xs = some ys ∧ S ys

/-- A linear constraint `Σ coeffs_i * y_i ≤ bound` on a flat output. -/
structure LinearConstraint where
  /-- One coefficient per output element. -/
  coeffs : List Q
  /-- The right-hand side. -/
  bound : Q

/-- The output `y` satisfies the constraint. -/
def LinearConstraint.Holds (c : LinearConstraint) (y : List Q) : Prop :=
  dot c.coeffs y Q.zero ≤ c.bound

/-- The first output satisfies every constraint of at least one of the lists (the disjunctive
normal form of VNN-LIB output properties). -/
def SatisfiesSome (spec : List (List LinearConstraint)) (ys : List (List Q)) : Prop :=
  ∃ conj, conj ∈ spec ∧ ∀ c, c ∈ conj → c.Holds (headD ys [])

end Pytorch2Lean
