/-
The shape of the theorems checkers prove: for every valid enclosure and every input in a box,
the network has outputs and they lie in a stated set.

`Safe g params box S` is the statement; a checker `check` with soundness theorem
`check g params box cert = true → Safe g params box S` turns one kernel evaluation into it.
-/
import Pytorch2Lean.QOrder

namespace Pytorch2Lean

/-- `x` lies in the box `[lo, hi]`, element by element, and each `x_i` is a rational (its
denominator is positive: a `Q` with denominator zero is no number). -/
inductive InBox : List Q → List Q → List Q → Prop
  | nil : InBox [] [] []
  | cons {l h x : Q} {ls hs xs : List Q} : l ≤ x → x ≤ h → x.WF → InBox ls hs xs →
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

/-- A linear constraint on a flat output `y`: `Σ y_i * coeffs_i ≤ bound`, or `< bound` when
`strict` (a VNN-LIB `(<= ...)` or `(< ...)` over outputs). -/
structure Constraint where
  /-- One coefficient per output element. -/
  coeffs : List Q
  /-- The right-hand side. -/
  bound : Q
  /-- `true` for `<`, `false` for `≤`. -/
  strict : Bool

/-- The output `y` satisfies the constraint. -/
def Constraint.Holds (c : Constraint) (y : List Q) : Prop :=
  match c.strict with
  | true => dot y c.coeffs Q.zero < c.bound
  | false => dot y c.coeffs Q.zero ≤ c.bound

/-- What a certificate claims of one output `y` (flat, row-major). -/
inductive OutProp where
  /-- `lo ≤ y ≤ hi` elementwise. -/
  | box (lo hi : List Q)
  /-- The VNN-LIB form: `y` is unsafe when it satisfies every constraint of some term; the claim
  is that it is not, i.e. every term has a constraint that `y` violates. -/
  | avoids (terms : List (List Constraint))

/-- The output `y` has the property. -/
def OutProp.Holds (p : OutProp) (y : List Q) : Prop :=
  match p with
  | .box lo hi => InBox lo hi y
  | .avoids terms => ∀ t, t ∈ terms → ∃ c, c ∈ t ∧ ¬ c.Holds y

end Pytorch2Lean
