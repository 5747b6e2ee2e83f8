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

/-- Stand-ins that are constants: `exp` and `1/sqrt` are `1`, the rest `0`. They are no
approximation of anything; they only show that `Enclosure.Valid` can be met. -/
def Enclosure.constant : Enclosure :=
  ⟨fun _ => Q.one, fun _ => Q.one, fun _ => Q.zero, fun _ => Q.zero, fun _ => Q.zero, fun _ => Q.zero⟩

/-- `min x 0 ≤ 0`, for every `x` (a rational or not). -/
theorem Q.min_zero_le (x : Q) : Q.min x Q.zero ≤ Q.zero := by
  show Q.ble (cond (Q.ble x Q.zero) x Q.zero) Q.zero = true
  cases h : Q.ble x Q.zero with
  | true => exact h
  | false => rfl

/-- `0 ≤ max x 0`, for every `x` (a rational or not): `x ≤ 0` fails only for a non-negative `x`. -/
theorem Q.zero_le_max (x : Q) : Q.zero ≤ Q.max x Q.zero := by
  show Q.ble Q.zero (cond (Q.ble x Q.zero) Q.zero x) = true
  cases h : Q.ble x Q.zero with
  | true => rfl
  | false =>
    show cond (Q.isNeg Q.zero) (cond (Q.isNeg x) (Nat.ble (Nat.mul x.num Q.zero.den) (Nat.mul Q.zero.num x.den)) true)
      (cond (Q.isNeg x) false (Nat.ble (Nat.mul Q.zero.num x.den) (Nat.mul x.num Q.zero.den))) = true
    have hx : Q.isNeg x = false := by
      cases hn : Q.isNeg x with
      | false => rfl
      | true =>
        have : Q.ble x Q.zero = true := by
          unfold Q.ble
          rw [hn]
          rfl
        exact absurd (this.symm.trans h) (fun e => Bool.noConfusion e)
    rw [hx]
    show Nat.ble (Nat.mul 0 x.den) (Nat.mul x.num 1) = true
    exact (congrArg (fun n => Nat.ble n (Nat.mul x.num 1)) (nat_zero_mul x.den)).trans
      (nat_ble_eq_true_of_le (nat_zero_le _))

/-- **`Safe` is not vacuous**: a valid enclosure exists (`Enclosure.constant`), so a `Safe`
statement about a box with a point in it says something about a run of the network. -/
theorem Enclosure.constant_valid : Enclosure.constant.Valid where
  exp_pos := fun _ => rfl
  exp_mono := fun _ _ _ => rfl
  rsqrt_pos := fun _ _ => rfl
  rsqrt_anti := fun _ _ _ _ => rfl
  tanh_mono := fun _ _ _ => rfl
  tanh_range := fun _ => ⟨rfl, rfl⟩
  sigmoid_mono := fun _ _ _ => rfl
  sigmoid_range := fun _ => ⟨rfl, rfl⟩
  geluErf_range := fun x => ⟨Q.min_zero_le x, Q.zero_le_max x⟩
  geluTanh_range := fun x => ⟨Q.min_zero_le x, Q.zero_le_max x⟩

/-- What a `Safe` statement gives for a point of the box: the network, run with the constant
stand-ins (or any valid ones), has outputs, and they satisfy `S`. -/
theorem Safe.run {g : Graph} {params : List (List Q)} {box : Box} {S : List (List Q) → Prop}
    (h : Safe g params box S) {xs : List (List Q)} (hx : InBoxes box xs) :
    ∃ ys, denote Enclosure.constant g params xs = some ys ∧ S ys :=
  h Enclosure.constant Enclosure.constant_valid xs hx

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
