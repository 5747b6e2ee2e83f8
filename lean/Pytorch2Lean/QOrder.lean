/-
Order and arithmetic facts about `Q`, for the soundness proofs of certificate checkers.

`Q` is sign and magnitude, and its operations branch on signs and reduce by a gcd. To reason
about them without integers or a theory of `gcd` and division, a rational is read as a triple of
naturals `V` (`(pos - neg) / den`, no subtraction taken) and compared by cross-multiplication,
all in `Nat`. Each operation's result is shown *equivalent* (same value) to a plain `V`
expression; the order facts are proved on `V`, where they are polynomial inequalities, and
carried back through `Q.ble_iff`. Normalisation (`Q.make`) changes nothing of the value because
`Q.divBy` divides only when it has checked the division exact.

Everything assumes positive denominators (`Q.WF`): every rational the library computes has one
(`Q.make_wf`, ...), and the inputs a checker reads are asked for it.
-/
import Pytorch2Lean.Tensor
import Pytorch2Lean.Denote
import Pytorch2Lean.Lemmas

namespace Pytorch2Lean

-- Polynomial identities are normalised in three passes (distribute; order each product; order
-- each sum) with fixed lists of lemmas, whichever of them a particular goal needs; one pass with
-- all of them together is far slower.
set_option linter.unusedSimpArgs false

/-- A rational as naturals: the value `(pos - neg) / den` (for `den > 0`), with no subtraction
ever taken, so that every fact below is a statement about `Nat` alone. -/
structure V where
  /-- The positive part of the numerator. -/
  pos : Nat
  /-- The negative part of the numerator. -/
  neg : Nat
  /-- The denominator. -/
  den : Nat

namespace V

/-- `a ≤ b` by cross-multiplication: `(a⁺ - a⁻) b.den ≤ (b⁺ - b⁻) a.den`, rearranged. -/
def le (a b : V) : Prop := a.pos * b.den + b.neg * a.den ≤ b.pos * a.den + a.neg * b.den

/-- `a` and `b` have the same value. -/
def eqv (a b : V) : Prop := a.pos * b.den + b.neg * a.den = b.pos * a.den + a.neg * b.den

/-- The sum, over the product of the denominators. -/
def add (a b : V) : V := ⟨a.pos * b.den + b.pos * a.den, a.neg * b.den + b.neg * a.den, a.den * b.den⟩

/-- The negation: the two parts swap. -/
def opp (a : V) : V := ⟨a.neg, a.pos, a.den⟩

/-- The product: `(a⁺ - a⁻)(b⁺ - b⁻) = (a⁺b⁺ + a⁻b⁻) - (a⁺b⁻ + a⁻b⁺)`. -/
def mul (a b : V) : V := ⟨a.pos * b.pos + a.neg * b.neg, a.pos * b.neg + a.neg * b.pos, a.den * b.den⟩

/-- The signed magnitude `(-1)^s n / d`. -/
def signed (s : Bool) (n d : Nat) : V := ⟨cond s 0 n, cond s n 0, d⟩

/-- `≤` is reflexive. -/
theorem le_refl (a : V) : le a a := nat_le_refl _

/-- Transitivity, through a middle term with a positive denominator (the cross-multiplied
inequalities are multiplied out and the middle denominator cancelled). -/
theorem le_trans {a b c : V} (h₁ : le a b) (h₂ : le b c) (hb : 0 < b.den) : le a c := by
  unfold le at *
  have s := nat_add_le_add (nat_mul_le_mul_right c.den h₁) (nat_mul_le_mul_right a.den h₂)
  apply nat_le_of_mul_le_mul_left hb
  apply nat_le_of_add_le_add_left (k := b.neg * a.den * c.den + b.pos * a.den * c.den)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Equal values are `≤`. -/
theorem le_of_eqv {a b : V} (h : eqv a b) : le a b := nat_le_of_eq h

/-- Equal values are `≥`. -/
theorem le_of_eqv' {a b : V} (h : eqv a b) : le b a := nat_le_of_eq h.symm

/-- `≤` is unchanged when both sides are replaced by equivalent ones (positive denominators on
the original sides, which serve as middle terms). -/
theorem le_congr {a b a' b' : V} (ea : eqv a a') (eb : eqv b b') (h : le a b) (ha : 0 < a.den)
    (hb : 0 < b.den) : le a' b' :=
  le_trans (le_trans (le_of_eqv' ea) h ha) (le_of_eqv eb) hb

/-- Sums are monotone (no positivity needed: both inequalities are scaled by denominators). -/
theorem add_le_add {a b c d : V} (h₁ : le a b) (h₂ : le c d) : le (add a c) (add b d) := by
  unfold le add at *
  have s := nat_add_le_add (nat_mul_le_mul_right (c.den * d.den) h₁)
    (nat_mul_le_mul_right (a.den * b.den) h₂)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Negation reverses `≤`. -/
theorem neg_le_neg {a b : V} (h : le a b) : le (opp b) (opp a) := by
  unfold le opp at *
  simp only [nat_add_comm] at h ⊢
  exact h

/-- Multiplying by a nonnegative `w` (`w⁻ ≤ w⁺`) keeps `≤`. -/
theorem mul_le_mul_nonneg {a b w : V} (hw : w.neg ≤ w.pos) (h : le a b) :
    le (mul a w) (mul b w) := by
  unfold le mul at *
  have s := nat_mul_le_mul_left w.den (nat_rearrange h hw)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Multiplying by a nonpositive `w` (`w⁺ ≤ w⁻`) reverses `≤`. -/
theorem mul_le_mul_nonpos {a b w : V} (hw : w.pos ≤ w.neg) (h : le a b) :
    le (mul b w) (mul a w) := by
  unfold le mul at *
  have s := nat_mul_le_mul_left w.den (nat_rearrange h hw)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Every value equals itself. -/
theorem eqv_refl (a : V) : eqv a a := rfl

/-- Equivalence is transitive through a middle term with a positive denominator. -/
theorem eqv_trans {a b c : V} (h₁ : eqv a b) (h₂ : eqv b c) (hb : 0 < b.den) : eqv a c :=
  nat_le_antisymm (le_trans (le_of_eqv h₁) (le_of_eqv h₂) hb)
    (le_trans (le_of_eqv' h₂) (le_of_eqv' h₁) hb)

/-- Equivalence is symmetric. -/
theorem eqv_symm' {a b : V} (h : eqv a b) : eqv b a := h.symm

/-- `¬ b ≤ a` gives `a ≤ b` (the order is total). -/
theorem le_of_not_le {a b : V} (h : ¬ le b a) : le a b := by
  unfold le at *
  cases nat_lt_or_ge (a.pos * b.den + b.neg * a.den) (b.pos * a.den + a.neg * b.den) with
  | inl hlt => exact nat_le_of_lt hlt
  | inr hge => exact absurd hge h

/-- `(-1)^s x / d + (-1)^t y / d`, over the common denominator `d`. -/
def sum2 (s : Bool) (x : Nat) (t : Bool) (y d : Nat) : V :=
  ⟨cond s 0 x + cond t 0 y, cond s x 0 + cond t y 0, d⟩

/-- A zero numerator over any denominator is zero. -/
theorem signed_zero_eqv (s : Bool) (d d' : Nat) : eqv (signed s 0 d) ⟨0, 0, d'⟩ := by
  cases s <;> simp only [eqv, signed, cond_true', cond_false', nat_zero_mul, nat_add_zero]

/-- Scaling numerator and denominator by `g` keeps the value. -/
theorem signed_scale (s : Bool) (q r g : Nat) : eqv (signed s q r) (signed s (q * g) (r * g)) := by
  cases s <;> simp only [eqv, signed, cond_true', cond_false', nat_zero_mul, nat_add_zero,
    nat_zero_add] <;> simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]

/-- The product of two signed magnitudes is signed by `s != t`. -/
theorem signed_mul_eqv (s t : Bool) (x y d e : Nat) :
    eqv (signed (s != t) (x * y) (d * e)) (mul (signed s x d) (signed t y e)) := by
  cases s <;> cases t <;> simp only [eqv, signed, mul, cond_true', cond_false', nat_zero_mul,
    nat_mul_zero, nat_add_zero, nat_zero_add, bne_false_false, bne_false_true, bne_true_false,
    bne_true_true]

/-- Two signed magnitudes over one denominator: their `sum2` is their sum. -/
theorem sum2_same (s : Bool) (x : Nat) (t : Bool) (y d : Nat) :
    eqv (sum2 s x t y d) (add (signed s x d) (signed t y d)) := by
  cases s <;> cases t <;> simp only [eqv, sum2, add, signed, cond_true', cond_false', nat_zero_mul, nat_mul_zero,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- Over the product of the denominators, with cross-multiplied numerators (`Q.add`'s general
branch, and `Acc.add`'s when neither denominator divides the other). -/
theorem sum2_cross (s : Bool) (x : Nat) (t : Bool) (y d e : Nat) :
    eqv (sum2 s (x * e) t (y * d) (d * e)) (add (signed s x d) (signed t y e)) := by
  cases s <;> cases t <;> simp only [eqv, sum2, add, signed, cond_true', cond_false', nat_zero_mul, nat_mul_zero,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- Over the first denominator `d * k`, a multiple of the second `d`. -/
theorem sum2_scale_right (s : Bool) (x : Nat) (t : Bool) (y d k : Nat) :
    eqv (sum2 s x t (y * k) (d * k)) (add (signed s x (d * k)) (signed t y d)) := by
  cases s <;> cases t <;> simp only [eqv, sum2, add, signed, cond_true', cond_false', nat_zero_mul, nat_mul_zero,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- Over the second denominator `d * k`, a multiple of the first `d`. -/
theorem sum2_scale_left (s : Bool) (x : Nat) (t : Bool) (y d k : Nat) :
    eqv (sum2 s (x * k) t y (d * k)) (add (signed s x d) (signed t y (d * k))) := by
  cases s <;> cases t <;> simp only [eqv, sum2, add, signed, cond_true', cond_false', nat_zero_mul, nat_mul_zero,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- `0 ≤ w` on values: the negative part is at most the positive part. -/
theorem nonneg_of_zero_le {w : V} (h : le ⟨0, 0, 1⟩ w) : w.neg ≤ w.pos := by
  unfold le at h
  simp only [nat_zero_mul, nat_mul_one, nat_zero_add, nat_add_zero] at h
  exact h

/-- `w ≤ 0` on values: the positive part is at most the negative part. -/
theorem nonpos_of_le_zero {w : V} (h : le w ⟨0, 0, 1⟩) : w.pos ≤ w.neg := by
  unfold le at h
  simp only [nat_zero_mul, nat_mul_one, nat_zero_add, nat_add_zero] at h
  exact h

end V

/-- The value of a rational, as naturals. -/
def Q.toV (a : Q) : V := V.signed a.neg a.num a.den

/-- A rational whose denominator is positive: every rational the library computes, and what
`InBox` asks of an input. -/
def Q.WF (a : Q) : Prop := 0 < a.den

/-- The value of a running sum, as naturals. -/
def Acc.toV (acc : Acc) : V := V.signed acc.neg acc.num acc.den

/-- A rational is negative with a positive magnitude, or it has no negative part (a negative
zero counts as zero, as `Q.isNeg` says). -/
theorem Q.toV_cases (a : Q) :
    (Q.isNeg a = true ∧ a.toV = ⟨0, a.num, a.den⟩ ∧ 0 < a.num) ∨
    (Q.isNeg a = false ∧ a.toV = ⟨a.num, 0, a.den⟩) := by
  cases a with
  | mk s n d =>
    cases s with
    | false => exact Or.inr ⟨rfl, rfl⟩
    | true =>
      cases n with
      | zero => exact Or.inr ⟨rfl, rfl⟩
      | succ m => exact Or.inl ⟨rfl, rfl, nat_succ_pos m⟩

/-- `Q.ble` decides the order of the values, for positive denominators. -/
theorem Q.ble_iff {a b : Q} (ha : a.WF) (_hb : b.WF) : Q.ble a b = true ↔ V.le a.toV b.toV := by
  unfold Q.ble
  rcases Q.toV_cases a with ⟨a1, a2, a3⟩ | ⟨a1, a2⟩ <;>
    rcases Q.toV_cases b with ⟨b1, b2, b3⟩ | ⟨b1, b2⟩ <;>
    rw [a1, b1, a2, b2] <;> unfold V.le <;>
    simp only [nat_zero_mul, nat_zero_add, nat_add_zero, cond_true', cond_false']
  · exact nat_ble_iff
  · exact ⟨fun _ => nat_zero_le _, fun _ => trivial⟩
  · refine ⟨fun h => Bool.noConfusion h, fun h => ?_⟩
    exact absurd (nat_lt_of_lt_of_le (nat_mul_pos b3 ha) (nat_le_trans (nat_le_add_left _ _) h))
      (nat_lt_irrefl 0)
  · exact nat_ble_iff

/-- `Q.blt a b` says that `b ≤ a` fails on the values. -/
theorem Q.blt_iff {a b : Q} (ha : a.WF) (hb : b.WF) :
    Q.blt a b = true ↔ ¬ V.le b.toV a.toV := by
  unfold Q.blt
  refine ⟨fun h hle => ?_, fun h => ?_⟩
  · rw [(Q.ble_iff hb ha).mpr hle] at h
    exact Bool.noConfusion h
  · cases e : Q.ble b a with
    | false => rfl
    | true => exact absurd ((Q.ble_iff hb ha).mp e) h

/-! ### Positive denominators -/

/-- `Q.make` always gives a positive denominator: zero has `1`, and a reduced denominator is
checked to divide the positive one it came from. -/
theorem Q.make_wf (s : Bool) (n d : Nat) : (Q.make s n d).WF := by
  unfold Q.make Q.divBy
  generalize Nat.gcd n d = g
  cases Nat.beq n (nat_lit 0) with
  | true => exact nat_succ_pos 0
  | false =>
    cases h2 : Nat.beq d (nat_lit 0) with
    | true => exact nat_succ_pos 0
    | false =>
      have hd : 0 < d := nat_pos_of_ne_zero (nat_ne_of_beq_eq_false h2)
      cases Nat.beq g (nat_lit 1) with
      | true => exact hd
      | false =>
        cases h4 : (Nat.beq (Nat.mul (Nat.div n g) g) n && Nat.beq (Nat.mul (Nat.div d g) g) d) with
        | true => exact nat_pos_of_mul_eq (nat_eq_of_beq_eq_true (and_true_split h4).2) hd
        | false => exact hd

/-- Zero has denominator `1`. -/
theorem Q.zero_wf : Q.zero.WF := nat_succ_pos 0

/-- `Q.add` ends in `Q.make` on every branch. -/
theorem Q.add_wf (a b : Q) : (Q.add a b).WF := by
  unfold Q.add Q.addOver
  cases Nat.beq a.den b.den <;> cases (a.neg == b.neg) <;>
    first
    | exact Q.make_wf _ _ _
    | (cases Nat.ble b.num a.num <;> exact Q.make_wf _ _ _)
    | (cases Nat.ble (Nat.mul b.num a.den) (Nat.mul a.num b.den) <;> exact Q.make_wf _ _ _)

/-- `Q.mul` is one `Q.make`. -/
theorem Q.mul_wf (a b : Q) : (Q.mul a b).WF := Q.make_wf _ _ _

/-- `Q.sub` is a `Q.add`. -/
theorem Q.sub_wf (a b : Q) : (Q.sub a b).WF := Q.add_wf _ _

/-- `Q.neg'` keeps the denominator (or gives zero). -/
theorem Q.neg_wf {a : Q} (h : a.WF) : (Q.neg' a).WF := by
  unfold Q.neg'
  cases Q.isZero a with
  | true => exact Q.zero_wf
  | false => exact h

/-- `reluQ` gives its argument or zero. -/
theorem reluQ_wf {a : Q} (h : a.WF) : (reluQ a).WF := by
  unfold reluQ
  cases Q.blt Q.zero a with
  | true => exact h
  | false => exact Q.zero_wf

/-! ### Values of the operations -/

/-- `Q.make s n d` has the value `(-1)^s n / d` (for `d > 0`): the reduction divides only when
it has checked the division exact, and then scales numerator and denominator alike. -/
theorem Q.make_eqv (s : Bool) (n d : Nat) (hd : 0 < d) : V.eqv (Q.make s n d).toV (V.signed s n d) := by
  unfold Q.make Q.divBy
  generalize Nat.gcd n d = g
  cases h1 : Nat.beq n (nat_lit 0) with
  | true =>
    rw [nat_eq_of_beq_eq_true h1]
    exact V.eqv_symm' (V.signed_zero_eqv s d 1)
  | false =>
    cases h2 : Nat.beq d (nat_lit 0) with
    | true => exact absurd (nat_eq_of_beq_eq_true h2 ▸ hd) (nat_lt_irrefl 0)
    | false =>
      cases Nat.beq g (nat_lit 1) with
      | true => exact V.eqv_refl _
      | false =>
        cases h4 : (Nat.beq (Nat.mul (Nat.div n g) g) n && Nat.beq (Nat.mul (Nat.div d g) g) d) with
        | false => exact V.eqv_refl _
        | true =>
          have hn : Nat.div n g * g = n := nat_eq_of_beq_eq_true (and_true_split h4).1
          have hd' : Nat.div d g * g = d := nat_eq_of_beq_eq_true (and_true_split h4).2
          have e := V.signed_scale s (Nat.div n g) (Nat.div d g) g
          rw [hn, hd'] at e
          exact e

/-- `Acc.over` keeps the common denominator. -/
theorem Acc.over_den (s : Bool) (x : Nat) (t : Bool) (y d : Nat) : (Acc.over s x t y d).den = d := by
  unfold Acc.over
  cases sameSign s t <;> cases Nat.ble y x <;> rfl

/-- `Acc.over` keeps a positive common denominator. -/
theorem Acc.over_den_pos (s : Bool) (x : Nat) (t : Bool) (y : Nat) {d : Nat} (hd : 0 < d) :
    0 < (Acc.over s x t y d).den := by
  rw [Acc.over_den]; exact hd

/-- `Acc.over` adds: its value is that of `(-1)^s x / d + (-1)^t y / d`. The signs differ on the
interesting branches, where the smaller magnitude is subtracted from the larger. -/
theorem Acc.over_eqv (s : Bool) (x : Nat) (t : Bool) (y d : Nat) :
    V.eqv (Acc.over s x t y d).toV (V.sum2 s x t y d) := by
  unfold Acc.over
  cases s <;> cases t
  · exact V.eqv_refl _
  · cases h : Nat.ble y x with
    | true =>
      have hyx := nat_le_of_ble_eq_true h
      simp only [Acc.toV, V.eqv, V.signed, V.sum2, sameSign, cond_true', cond_false', nat_sub_eq,
        nat_zero_mul, nat_zero_add, nat_add_zero]
      rw [← nat_right_distrib, nat_sub_add_cancel hyx]
    | false =>
      have hxy := nat_le_of_lt (nat_lt_of_ble_false h)
      simp only [Acc.toV, V.eqv, V.signed, V.sum2, sameSign, cond_true', cond_false', nat_sub_eq,
        nat_zero_mul, nat_zero_add, nat_add_zero]
      rw [← nat_right_distrib, nat_add_comm x, nat_sub_add_cancel hxy]
  · cases h : Nat.ble y x with
    | true =>
      have hyx := nat_le_of_ble_eq_true h
      simp only [Acc.toV, V.eqv, V.signed, V.sum2, sameSign, cond_true', cond_false', nat_sub_eq,
        nat_zero_mul, nat_zero_add, nat_add_zero]
      rw [← nat_right_distrib, nat_add_comm y, nat_sub_add_cancel hyx]
    | false =>
      have hxy := nat_le_of_lt (nat_lt_of_ble_false h)
      simp only [Acc.toV, V.eqv, V.signed, V.sum2, sameSign, cond_true', cond_false', nat_sub_eq,
        nat_zero_mul, nat_zero_add, nat_add_zero]
      rw [← nat_right_distrib, nat_sub_add_cancel hxy]
  · exact V.eqv_refl _

/-- `Q.addOver` is `Acc.over` normalised. -/
theorem Q.addOver_eq (s : Bool) (x : Nat) (t : Bool) (y d : Nat) :
    Q.addOver s x t y d = (Acc.over s x t y d).toQ := by
  unfold Q.addOver Acc.over
  cases s <;> cases t <;> cases Nat.ble y x <;> rfl

/-- `Q.addOver` adds (for `d > 0`). -/
theorem Q.addOver_eqv (s : Bool) (x : Nat) (t : Bool) (y d : Nat) (hd : 0 < d) :
    V.eqv (Q.addOver s x t y d).toV (V.sum2 s x t y d) := by
  rw [Q.addOver_eq]
  have hd' : 0 < (Acc.over s x t y d).den := by rw [Acc.over_den]; exact hd
  exact V.eqv_trans (Q.make_eqv _ _ _ hd') (Acc.over_eqv s x t y d) hd'

/-- `Q.add` adds: its value is the sum of the values (for positive denominators). -/
theorem Q.add_eqv {a b : Q} (ha : a.WF) (hb : b.WF) : V.eqv (Q.add a b).toV (V.add a.toV b.toV) := by
  cases a with
  | mk s x d =>
    cases b with
    | mk t y e =>
      unfold Q.add
      cases h : Nat.beq d e with
      | true =>
        have hde : d = e := nat_eq_of_beq_eq_true h
        subst hde
        exact V.eqv_trans (Q.addOver_eqv s x t y d ha) (V.sum2_same s x t y d) ha
      | false =>
        have hp : 0 < d * e := nat_mul_pos ha hb
        exact V.eqv_trans (Q.addOver_eqv s (x * e) t (y * d) (d * e) hp) (V.sum2_cross s x t y d e) hp

/-- `Q.neg'` negates the value. -/
theorem Q.neg_eqv (a : Q) : V.eqv (Q.neg' a).toV (V.opp a.toV) := by
  cases a with
  | mk s n d =>
    unfold Q.neg' Q.isZero
    cases h : Nat.beq n (nat_lit 0) with
    | true =>
      rw [nat_eq_of_beq_eq_true h]
      cases s <;> simp only [Q.toV, Q.zero, V.eqv, V.opp, V.signed, cond_true', cond_false',
        nat_zero_mul, nat_add_zero]
    | false => cases s <;> exact V.eqv_refl _

/-- `Q.mul` multiplies the values (for positive denominators). -/
theorem Q.mul_eqv {a b : Q} (ha : a.WF) (hb : b.WF) : V.eqv (Q.mul a b).toV (V.mul a.toV b.toV) :=
  V.eqv_trans (Q.make_eqv _ _ _ (nat_mul_pos ha hb))
    (V.signed_mul_eqv a.neg b.neg a.num b.num a.den b.den) (nat_mul_pos ha hb)

/-! ### Order -/

/-- `≤` is reflexive (on every rational, positive denominator or not). -/
theorem Q.le_refl (a : Q) : a ≤ a := by
  show Q.ble a a = true
  unfold Q.ble
  cases Q.isNeg a <;> exact nat_ble_self_eq_true _

/-- `≤` is transitive. -/
theorem Q.le_trans {a b c : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) : a ≤ b → b ≤ c → a ≤ c :=
  fun h₁ h₂ => (Q.ble_iff ha hc).mpr
    (V.le_trans ((Q.ble_iff ha hb).mp h₁) ((Q.ble_iff hb hc).mp h₂) hb)

/-- `a < b` gives `a ≤ b`. -/
theorem Q.le_of_blt {a b : Q} (ha : a.WF) (hb : b.WF) (h : Q.blt a b = true) : a ≤ b :=
  (Q.ble_iff ha hb).mpr (V.le_of_not_le ((Q.blt_iff ha hb).mp h))

/-- `a < b ≤ c` gives `a < c` (by contraposition: `c ≤ a` would give `b ≤ a`). -/
theorem Q.lt_of_lt_of_le {a b c : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) :
    Q.blt a b = true → b ≤ c → Q.blt a c = true :=
  fun h₁ h₂ => (Q.blt_iff ha hc).mpr
    (fun hca => (Q.blt_iff ha hb).mp h₁ (V.le_trans ((Q.ble_iff hb hc).mp h₂) hca hc))

/-- `a ≤ b < c` gives `a < c` (by contraposition: `c ≤ a` would give `c ≤ b`). -/
theorem Q.lt_of_le_of_lt {a b c : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) :
    a ≤ b → Q.blt b c = true → Q.blt a c = true :=
  fun h₁ h₂ => (Q.blt_iff ha hc).mpr
    (fun hca => (Q.blt_iff hb hc).mp h₂ (V.le_trans hca ((Q.ble_iff ha hb).mp h₁) ha))

/-- Sums are monotone: the value lemma `Q.add_eqv` and `V.add_le_add`. -/
theorem Q.add_le_add {a b c d : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) (hd : d.WF) :
    a ≤ b → c ≤ d → Q.add a c ≤ Q.add b d :=
  fun h₁ h₂ => (Q.ble_iff (Q.add_wf a c) (Q.add_wf b d)).mpr
    (V.le_congr (V.eqv_symm' (Q.add_eqv ha hc)) (V.eqv_symm' (Q.add_eqv hb hd))
      (V.add_le_add ((Q.ble_iff ha hb).mp h₁) ((Q.ble_iff hc hd).mp h₂))
      (nat_mul_pos ha hc) (nat_mul_pos hb hd))

/-- Negation reverses `≤`. -/
theorem Q.neg_le_neg {a b : Q} (ha : a.WF) (hb : b.WF) : a ≤ b → Q.neg' b ≤ Q.neg' a :=
  fun h => (Q.ble_iff (Q.neg_wf hb) (Q.neg_wf ha)).mpr
    (V.le_congr (V.eqv_symm' (Q.neg_eqv b)) (V.eqv_symm' (Q.neg_eqv a))
      (V.neg_le_neg ((Q.ble_iff ha hb).mp h)) hb ha)

/-- Subtraction is monotone in its first argument and antitone in its second. -/
theorem Q.sub_le_sub {a b c d : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) (hd : d.WF) :
    a ≤ b → d ≤ c → Q.sub a c ≤ Q.sub b d :=
  fun h₁ h₂ => Q.add_le_add ha hb (Q.neg_wf hc) (Q.neg_wf hd) h₁ (Q.neg_le_neg hd hc h₂)

/-- `Q.mul` is commutative (the representations are equal, not only the values). -/
theorem Q.mul_comm (a b : Q) : Q.mul a b = Q.mul b a := by
  unfold Q.mul
  have e1 : Nat.mul a.num b.num = Nat.mul b.num a.num := nat_mul_comm _ _
  have e2 : Nat.mul a.den b.den = Nat.mul b.den a.den := nat_mul_comm _ _
  rw [e1, e2]
  cases a.neg <;> cases b.neg <;> rfl

/-- `reluQ` is monotone. -/
theorem reluQ_le_reluQ {a b : Q} (ha : a.WF) (hb : b.WF) : a ≤ b → reluQ a ≤ reluQ b := by
  intro h
  unfold reluQ
  cases h1 : Q.blt Q.zero a <;> cases h2 : Q.blt Q.zero b
  · exact Q.le_refl Q.zero
  · exact Q.le_of_blt Q.zero_wf hb h2
  · have h3 := Q.lt_of_lt_of_le Q.zero_wf ha hb h1 h
    rw [h2] at h3
    exact Bool.noConfusion h3
  · exact h

/-! ### Products with an interval -/

/-- The end of `[l, h]` that minimises `x * w`: `l` for `w ≥ 0`, else `h`. -/
def pickLo (w l h : Q) : Q := cond (Q.ble Q.zero w) l h

/-- The end of `[l, h]` that maximises `x * w`. -/
def pickHi (w l h : Q) : Q := cond (Q.ble Q.zero w) h l

/-- Multiplying by `w` keeps `≤` when `0 ≤ w`. -/
theorem Q.mul_le_mul_of_nonneg {a b w : Q} (ha : a.WF) (hb : b.WF) (hw : w.WF)
    (hw0 : Q.ble Q.zero w = true) (h : a ≤ b) : Q.mul a w ≤ Q.mul b w :=
  (Q.ble_iff (Q.mul_wf a w) (Q.mul_wf b w)).mpr
    (V.le_congr (V.eqv_symm' (Q.mul_eqv ha hw)) (V.eqv_symm' (Q.mul_eqv hb hw))
      (V.mul_le_mul_nonneg (V.nonneg_of_zero_le ((Q.ble_iff Q.zero_wf hw).mp hw0))
        ((Q.ble_iff ha hb).mp h))
      (nat_mul_pos ha hw) (nat_mul_pos hb hw))

/-- Multiplying by `w` reverses `≤` when `w < 0` (`0 ≤ w` fails). -/
theorem Q.mul_le_mul_of_nonpos {a b w : Q} (ha : a.WF) (hb : b.WF) (hw : w.WF)
    (hw0 : Q.ble Q.zero w = false) (h : a ≤ b) : Q.mul b w ≤ Q.mul a w := by
  have hn : ¬ V.le Q.zero.toV w.toV := fun hz => by
    rw [(Q.ble_iff Q.zero_wf hw).mpr hz] at hw0
    exact Bool.noConfusion hw0
  exact (Q.ble_iff (Q.mul_wf b w) (Q.mul_wf a w)).mpr
    (V.le_congr (V.eqv_symm' (Q.mul_eqv hb hw)) (V.eqv_symm' (Q.mul_eqv ha hw))
      (V.mul_le_mul_nonpos (V.nonpos_of_le_zero (V.le_of_not_le hn)) ((Q.ble_iff ha hb).mp h))
      (nat_mul_pos hb hw) (nat_mul_pos ha hw))

/-- For `x ∈ [l, h]`, the product with `w` is at least its value at `pickLo w l h`. -/
theorem mul_pickLo_le {w l x h : Q} (hw : w.WF) (hl' : l.WF) (hx : x.WF) (hh' : h.WF)
    (hl : l ≤ x) (hh : x ≤ h) : Q.mul (pickLo w l h) w ≤ Q.mul x w := by
  unfold pickLo
  cases hw0 : Q.ble Q.zero w with
  | true => exact Q.mul_le_mul_of_nonneg hl' hx hw hw0 hl
  | false => exact Q.mul_le_mul_of_nonpos hx hh' hw hw0 hh

/-- For `x ∈ [l, h]`, the product with `w` is at most its value at `pickHi w l h`. -/
theorem mul_le_pickHi {w l x h : Q} (hw : w.WF) (hl' : l.WF) (hx : x.WF) (hh' : h.WF)
    (hl : l ≤ x) (hh : x ≤ h) : Q.mul x w ≤ Q.mul (pickHi w l h) w := by
  unfold pickHi
  cases hw0 : Q.ble Q.zero w with
  | true => exact Q.mul_le_mul_of_nonneg hx hh' hw hw0 hh
  | false => exact Q.mul_le_mul_of_nonpos hl' hx hw hw0 hl

/-! ### Sums of products -/

/-- `natFresh n k` is `k n`. -/
theorem natFresh_eq {α : Type} (n : Nat) (k : Nat → α) : natFresh n k = k n := by
  cases n <;> rfl

/-- `Acc.strict acc k` is `k acc`: it only rebuilds the fields. -/
theorem Acc.strict_eq {α : Type} (acc : Acc) (k : Acc → α) : acc.strict k = k acc := by
  cases acc with
  | mk s n d =>
    cases n <;> cases d <;> cases s <;> rfl

/-- `Acc.add` adds `(-1)^s n / d` (positive denominators in, a positive denominator out): on each
branch the common denominator is the one its checked product names. -/
theorem Acc.add_eqv (acc : Acc) (s : Bool) (n d : Nat) (hD : 0 < acc.den) (hd : 0 < d) :
    0 < (acc.add s n d).den ∧ V.eqv (acc.add s n d).toV (V.add acc.toV (V.signed s n d)) := by
  cases acc with
  | mk t m D =>
    unfold Acc.add
    generalize Nat.div D d = k
    generalize Nat.div d D = k'
    cases h1 : Nat.beq (Nat.mul d k) D with
    | true =>
      have e : d * k = D := nat_eq_of_beq_eq_true h1
      subst e
      refine ⟨Acc.over_den_pos _ _ _ _ hD, ?_⟩
      exact V.eqv_trans (Acc.over_eqv t m s (n * k) (d * k)) (V.sum2_scale_right t m s n d k) hD
    | false =>
      cases h2 : Nat.beq (Nat.mul D k') d with
      | true =>
        have e : D * k' = d := nat_eq_of_beq_eq_true h2
        subst e
        refine ⟨Acc.over_den_pos _ _ _ _ hd, ?_⟩
        exact V.eqv_trans (Acc.over_eqv t (m * k') s n (D * k')) (V.sum2_scale_left t m s n D k') hd
      | false =>
        have hp : 0 < D * d := nat_mul_pos hD hd
        refine ⟨Acc.over_den_pos _ _ _ _ hp, ?_⟩
        exact V.eqv_trans (Acc.over_eqv t (m * d) s (n * D) (D * d)) (V.sum2_cross t m s n D d) hp

/-- Term by term, `a_i * b_i ≤ a'_i * b'_i`, over lists of one length (the sums `dot` takes). -/
inductive TermsLe : List Q → List Q → List Q → List Q → Prop
  | nil : TermsLe [] [] [] []
  | cons {x y x' y' : Q} {as bs as' bs' : List Q} : x.WF → y.WF → x'.WF → y'.WF →
      Q.mul x y ≤ Q.mul x' y' → TermsLe as bs as' bs' → TermsLe (x :: as) (y :: bs) (x' :: as') (y' :: bs')

/-- The value of the product `x * y` as `Acc.addMul` adds it (before any reduction). -/
def mulV (x y : Q) : V := V.signed (x.neg != y.neg) (x.num * y.num) (x.den * y.den)

/-- `Q.mul` has the value `mulV`. -/
theorem Q.mul_eqv_mulV {x y : Q} (hx : x.WF) (hy : y.WF) : V.eqv (Q.mul x y).toV (mulV x y) :=
  Q.make_eqv _ _ _ (nat_mul_pos hx hy)

/-- Adding a signed zero keeps the value. -/
theorem V.eqv_add_signed_zero (a : V) (s : Bool) (d : Nat) : V.eqv a (V.add a (V.signed s 0 d)) := by
  cases s <;>
  · unfold V.eqv V.add V.signed
    simp only [cond, nat_zero_mul, nat_mul_zero, nat_add_zero, nat_mul_assoc, nat_mul_comm, nat_mul_left_comm]

/-- `Acc.addMul` adds the value of the product (`mulV`); a zero factor leaves the sum as it is. -/
theorem Acc.addMul_eqv (acc : Acc) (x y : Q) (hD : 0 < acc.den) (hx : x.WF) (hy : y.WF) :
    0 < (acc.addMul x y).den ∧ V.eqv (acc.addMul x y).toV (V.add acc.toV (mulV x y)) := by
  have hz : ∀ (h0 : x.num * y.num = 0),
      0 < acc.den ∧ V.eqv acc.toV (V.add acc.toV (mulV x y)) := by
    intro h0
    unfold mulV
    rw [h0]
    exact ⟨hD, V.eqv_add_signed_zero _ _ _⟩
  unfold Acc.addMul
  cases ha : Nat.beq x.num (nat_lit 0) with
  | true =>
    have e : x.num = 0 := nat_eq_of_beq_eq_true ha
    exact hz (by rw [e, nat_zero_mul])
  | false =>
    cases hb : Nat.beq y.num (nat_lit 0) with
    | true =>
      have e : y.num = 0 := nat_eq_of_beq_eq_true hb
      exact hz (by rw [e, nat_mul_zero])
    | false => exact Acc.add_eqv acc _ _ _ hD (nat_mul_pos hx hy)

/-- One step of a running sum of products: `acc + x * y ≤ acc' + x' * y'` from `acc ≤ acc'` and
`x * y ≤ x' * y'` (`V.add_le_add` between the value lemmas of `Acc.addMul` and of `Q.mul`). -/
theorem Acc.addMul_le {acc acc' : Acc} {x y x' y' : Q} (hD : 0 < acc.den) (hD' : 0 < acc'.den)
    (hle : V.le acc.toV acc'.toV) (hx : x.WF) (hy : y.WF) (hx' : x'.WF) (hy' : y'.WF)
    (hm : Q.mul x y ≤ Q.mul x' y') :
    0 < (acc.addMul x y).den ∧ 0 < (acc'.addMul x' y').den ∧
      V.le (acc.addMul x y).toV (acc'.addMul x' y').toV := by
  have e1 := Acc.addMul_eqv acc x y hD hx hy
  have e2 := Acc.addMul_eqv acc' x' y' hD' hx' hy'
  have hm' : V.le (mulV x y) (mulV x' y') :=
    V.le_congr (Q.mul_eqv_mulV hx hy) (Q.mul_eqv_mulV hx' hy')
      ((Q.ble_iff (Q.mul_wf x y) (Q.mul_wf x' y')).mp hm) (Q.mul_wf x y) (Q.mul_wf x' y')
  exact ⟨e1.1, e2.1, V.le_congr (V.eqv_symm' e1.2) (V.eqv_symm' e2.2) (V.add_le_add hle hm')
    (nat_mul_pos hD (nat_mul_pos hx hy)) (nat_mul_pos hD' (nat_mul_pos hx' hy'))⟩

/-- Running sums of products are monotone, term by term (`Acc.addMul_le` at each step). -/
theorem dotAcc_le {a b a' b' : List Q} (ht : TermsLe a b a' b') :
    ∀ (acc acc' : Acc), 0 < acc.den → 0 < acc'.den → V.le acc.toV acc'.toV →
      0 < (dotAcc a b acc).den ∧ 0 < (dotAcc a' b' acc').den ∧
        V.le (dotAcc a b acc).toV (dotAcc a' b' acc').toV := by
  induction ht with
  | nil => exact fun acc acc' h h' hle => ⟨h, h', hle⟩
  | @cons x y x' y' as bs as' bs' hx hy hx' hy' hm _ ih =>
    intro acc acc' hD hD' hle
    have r := Acc.addMul_le hD hD' hle hx hy hx' hy' hm
    have r' := ih (acc.addMul x y) (acc'.addMul x' y') r.1 r.2.1 r.2.2
    unfold dotAcc
    rw [Acc.strict_eq, Acc.strict_eq]
    exact r'

/-- `dot` always gives a positive denominator (it ends in `Q.make`). -/
theorem dot_wf (a b : List Q) (init : Q) : (dot a b init).WF := Q.make_wf _ _ _

/-- `dot` is monotone in its terms and in its initial value. -/
theorem dot_le_dot {a b a' b' : List Q} {init init' : Q} (hi : init.WF) (hi' : init'.WF) :
    TermsLe a b a' b' → init ≤ init' → dot a b init ≤ dot a' b' init' := by
  intro ht h
  have r := dotAcc_le ht (Acc.ofQ init) (Acc.ofQ init') hi hi' ((Q.ble_iff hi hi').mp h)
  exact (Q.ble_iff (dot_wf a b init) (dot_wf a' b' init')).mpr
    (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ r.1)) (V.eqv_symm' (Q.make_eqv _ _ _ r.2.1)) r.2.2
      r.1 r.2.1)

/-! ### Other sums and maxima (convolutions, pooling) -/

/-- Pair by pair, `w_i * x_i ≤ w'_i * x'_i`, over lists of one length (the sums
`sumProducts` takes). -/
inductive PairsLe : List (Q × Q) → List (Q × Q) → Prop
  | nil : PairsLe [] []
  | cons {p p' : Q × Q} {ps ps' : List (Q × Q)} : p.1.WF → p.2.WF → p'.1.WF → p'.2.WF →
      Q.mul p.1 p.2 ≤ Q.mul p'.1 p'.2 → PairsLe ps ps' → PairsLe (p :: ps) (p' :: ps')

/-- Running sums over pairs are monotone, pair by pair. -/
theorem productsAcc_le {ps ps' : List (Q × Q)} (ht : PairsLe ps ps') :
    ∀ (acc acc' : Acc), 0 < acc.den → 0 < acc'.den → V.le acc.toV acc'.toV →
      0 < (productsAcc ps acc).den ∧ 0 < (productsAcc ps' acc').den ∧
        V.le (productsAcc ps acc).toV (productsAcc ps' acc').toV := by
  induction ht with
  | nil => exact fun acc acc' h h' hle => ⟨h, h', hle⟩
  | @cons p p' qs qs' hx hy hx' hy' hm _ ih =>
    intro acc acc' hD hD' hle
    have r := Acc.addMul_le hD hD' hle hx hy hx' hy' hm
    have r' := ih (acc.addMul p.1 p.2) (acc'.addMul p'.1 p'.2) r.1 r.2.1 r.2.2
    unfold productsAcc
    rw [Acc.strict_eq, Acc.strict_eq]
    exact r'

/-- `sumProducts` always gives a positive denominator. -/
theorem sumProducts_wf (ps : List (Q × Q)) (init : Q) : (sumProducts ps init).WF := Q.make_wf _ _ _

/-- `sumProducts` is monotone in its products and in its initial value. -/
theorem sumProducts_le_sumProducts {ps ps' : List (Q × Q)} {init init' : Q} (hi : init.WF)
    (hi' : init'.WF) : PairsLe ps ps' → init ≤ init' → sumProducts ps init ≤ sumProducts ps' init' := by
  intro ht h
  have r := productsAcc_le ht (Acc.ofQ init) (Acc.ofQ init') hi hi' ((Q.ble_iff hi hi').mp h)
  exact (Q.ble_iff (sumProducts_wf ps init) (sumProducts_wf ps' init')).mpr
    (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ r.1)) (V.eqv_symm' (Q.make_eqv _ _ _ r.2.1)) r.2.2
      r.1 r.2.1)

/-- Element by element `a_i ≤ b_i`, over lists of one length. -/
inductive ListLe : List Q → List Q → Prop
  | nil : ListLe [] []
  | cons {a b : Q} {as bs : List Q} : a.WF → b.WF → a ≤ b → ListLe as bs → ListLe (a :: as) (b :: bs)

/-- Running sums are monotone, element by element. -/
theorem sumAcc_le {as bs : List Q} (ht : ListLe as bs) :
    ∀ (acc acc' : Acc), 0 < acc.den → 0 < acc'.den → V.le acc.toV acc'.toV →
      0 < (sumAcc as acc).den ∧ 0 < (sumAcc bs acc').den ∧
        V.le (sumAcc as acc).toV (sumAcc bs acc').toV := by
  induction ht with
  | nil => exact fun acc acc' h h' hle => ⟨h, h', hle⟩
  | @cons a b as bs ha hb hab _ ih =>
    intro acc acc' hD hD' hle
    have e1 := Acc.add_eqv acc a.neg a.num a.den hD ha
    have e2 := Acc.add_eqv acc' b.neg b.num b.den hD' hb
    have hstep : V.le (acc.add a.neg a.num a.den).toV (acc'.add b.neg b.num b.den).toV :=
      V.le_congr (V.eqv_symm' e1.2) (V.eqv_symm' e2.2)
        (V.add_le_add hle ((Q.ble_iff ha hb).mp hab)) (nat_mul_pos hD ha) (nat_mul_pos hD' hb)
    have r := ih _ _ e1.1 e2.1 hstep
    unfold sumAcc
    rw [Acc.strict_eq, Acc.strict_eq]
    exact r

/-- `sumQ` always gives a positive denominator. -/
theorem sumQ_wf (l : List Q) : (sumQ l).WF := Q.make_wf _ _ _

/-- `sumQ` is monotone, element by element. -/
theorem sumQ_le_sumQ {as bs : List Q} (h : ListLe as bs) : sumQ as ≤ sumQ bs := by
  have r := sumAcc_le h (Acc.ofQ Q.zero) (Acc.ofQ Q.zero) Q.zero_wf Q.zero_wf (V.le_refl _)
  exact (Q.ble_iff (sumQ_wf as) (sumQ_wf bs)).mpr
    (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ r.1)) (V.eqv_symm' (Q.make_eqv _ _ _ r.2.1)) r.2.2
      r.1 r.2.1)

/-- `Q.max` gives one of its arguments. -/
theorem Q.max_wf {a b : Q} (ha : a.WF) (hb : b.WF) : (Q.max a b).WF := by
  unfold Q.max
  cases Q.ble a b
  · exact ha
  · exact hb

/-- `Q.min` gives one of its arguments. -/
theorem Q.min_wf {a b : Q} (ha : a.WF) (hb : b.WF) : (Q.min a b).WF := by
  unfold Q.min
  cases Q.ble a b
  · exact hb
  · exact ha

/-- `Q.ble a b = false` means `b < a`, so `b ≤ a`. -/
theorem Q.le_of_ble_false {a b : Q} (ha : a.WF) (hb : b.WF) (h : Q.ble a b = false) : b ≤ a :=
  Q.le_of_blt hb ha (by unfold Q.blt; rw [h]; rfl)

/-- `Q.max` is monotone in both arguments. -/
theorem Q.max_le_max {a b c d : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) (hd : d.WF) :
    a ≤ b → c ≤ d → Q.max a c ≤ Q.max b d := by
  intro h₁ h₂
  unfold Q.max
  cases e1 : Q.ble a c <;> cases e2 : Q.ble b d
  · exact h₁
  · exact Q.le_trans ha hb hd h₁ e2
  · exact Q.le_trans hc hd hb h₂ (Q.le_of_ble_false hb hd e2)
  · exact h₂

/-- `Q.min` is monotone in both arguments. -/
theorem Q.min_le_min {a b c d : Q} (ha : a.WF) (hb : b.WF) (hc : c.WF) (hd : d.WF) :
    a ≤ b → c ≤ d → Q.min a c ≤ Q.min b d := by
  intro h₁ h₂
  unfold Q.min
  cases e1 : Q.ble a c <;> cases e2 : Q.ble b d
  · exact h₂
  · exact Q.le_trans hc ha hb (Q.le_of_ble_false ha hc e1) h₁
  · exact Q.le_trans ha hc hd e1 h₂
  · exact h₁

/-- A left fold of `Q.max` is monotone in its start and, element by element, in its list. -/
theorem foldl_max_le {as bs : List Q} (h : ListLe as bs) :
    ∀ {a b : Q}, a.WF → b.WF → a ≤ b →
      (as.foldl Q.max a).WF ∧ (bs.foldl Q.max b).WF ∧ as.foldl Q.max a ≤ bs.foldl Q.max b := by
  induction h with
  | nil => exact fun ha hb hab => ⟨ha, hb, hab⟩
  | cons hx hy hxy _ ih =>
    intro a b ha hb hab
    exact ih (Q.max_wf ha hx) (Q.max_wf hb hy) (Q.max_le_max ha hb hx hy hab hxy)

/-- `maxQ` is monotone, element by element. -/
theorem maxQ_le_maxQ {as bs : List Q} (h : ListLe as bs) : maxQ as ≤ maxQ bs := by
  cases h with
  | nil => exact Q.le_refl Q.zero
  | cons ha hb hab rest => exact (foldl_max_le rest ha hb hab).2.2

end Pytorch2Lean
