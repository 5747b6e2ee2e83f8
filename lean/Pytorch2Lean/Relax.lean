/-
ReLU lines for back-substitution, and the facts the CROWN checker (`CheckCROWN.lean`) needs
about them.

A certificate states, for each element of a ReLU node, lines `ls x + li ≤ relu x ≤ us x + ui`.
`lineOk` accepts them on an operand interval `[l, h]` by a test that is easy to prove sound: both
slopes in `[0, 1]`, the lower intercept at most `0` (then the lower line lies under relu
everywhere), the upper line at least `0` at `l` and at least `h` at `h` (then, its slope being in
`[0, 1]`, it lies over both `0` and `x` on `[l, h]`). For slopes in `[0, 1]` these are exactly the
best intercepts, so nothing a sound search states is lost. `relu_lines_sum` is what
back-substitution uses: a coefficient meets the lower line where it is `≥ 0` and the upper line
where it is `< 0`, so each term of `Σ c_i relu(x_i)` is bounded below by a line in `x_i`.
-/
import Pytorch2Lean.CheckIBP
import Pytorch2Lean.Linear

namespace Pytorch2Lean

set_option linter.unusedSimpArgs false

/-- Stated lines for one ReLU element: `(ls, li, us, ui)` with
`ls x + li ≤ relu x ≤ us x + ui` claimed on the operand's stated bounds. -/
abbrev Line4 := Q × Q × Q × Q

/-- Stated lines for every element of a ReLU node, row-major. -/
abbrev Relax := List Line4

/-- The lines of one element are accepted for an operand in `[l, h]`: the lower line has slope in
`[0, 1]` and intercept at most `0` (so it lies under relu everywhere); the upper line has slope in
`[0, 1]`, is at least `0` at `l` and at least `h` at `h` (so it lies over relu on `[l, h]`). -/
def lineOk (r : Line4) (l h : Q) : Bool :=
  allWFb [r.1, r.2.1, r.2.2.1, r.2.2.2] &&
  Q.ble Q.zero r.1 && Q.ble r.1 Q.one && Q.ble r.2.1 Q.zero &&
  Q.ble Q.zero r.2.2.1 && Q.ble r.2.2.1 Q.one &&
  Q.ble Q.zero (Q.add (Q.mul r.2.2.1 l) r.2.2.2) && Q.ble h (Q.add (Q.mul r.2.2.1 h) r.2.2.2)

/-- Every element's lines are accepted on its operand's bounds (lists of one length). -/
def relaxOk : Relax → List Q → List Q → Bool
  | r :: rs, l :: ls, h :: hs => lineOk r l h && relaxOk rs ls hs
  | [], [], [] => true
  | _, _, _ => false

/-- The line a coefficient meets: the lower one for `c ≥ 0`, the upper one otherwise. -/
def pickLine (c : Q) (r : Line4) : Q × Q :=
  cond (Q.ble Q.zero c) (r.1, r.2.1) (r.2.2.1, r.2.2.2)

/-- The coefficients of the operand after a ReLU: `c_i` times the slope of the line it meets. -/
def reluSlopes (c : List Q) (r : Relax) : List Q := zipWithL (fun c l => Q.mul c (pickLine c l).1) c r

/-- The intercepts of the lines the coefficients meet. -/
def reluInts (c : List Q) (r : Relax) : List Q := zipWithL (fun c l => (pickLine c l).2) c r

/-- `true` for zero written as `⟨false, 0, 1⟩` (how certificates write it). -/
def Q.isZeroC (q : Q) : Bool := !q.neg && Nat.beq q.num (nat_lit 0) && Nat.beq q.den (nat_lit 1)

/-- Both slopes of the lines are zero (an inactive ReLU): the slope met is zero whatever the
coefficient's sign. -/
def slopesZero (r : Line4) : Bool := Nat.beq r.1.num (nat_lit 0) && Nat.beq r.2.2.1.num (nat_lit 0)

/-- Both intercepts of the lines are `⟨false, 0, 1⟩`. -/
def intsZero (r : Line4) : Bool := Q.isZeroC r.2.1 && Q.isZeroC r.2.2.2

/-- `reluSlopes` as the checker evaluates it: where both slopes are zero the coefficient is not
read (`reluSlopesF_eq`), so the kernel, evaluating lazily, never computes the coefficients of
inactive ReLUs. -/
def reluSlopesF (c : List Q) (r : Relax) : List Q :=
  zipWithL (fun c l => cond (slopesZero l) Q.zero (Q.mul c (pickLine c l).1)) c r

/-- `reluInts` as the checker evaluates it: where both intercepts are zero the coefficient's
sign is not read (`reluIntsF_eq`). -/
def reluIntsF (c : List Q) (r : Relax) : List Q :=
  zipWithL (fun c l => cond (intsZero l) Q.zero (pickLine c l).2) c r

/-- The list of `n` rationals that is `s` at index `e` and zero elsewhere. -/
def unitRow (s : Q) : Nat → Nat → List Q
  | _, 0 => []
  | 0, n + 1 => s :: List.replicate n Q.zero
  | e + 1, n + 1 => Q.zero :: unitRow s e n

/-- Minus one. -/
def Q.negOne : Q := ⟨true, 1, 1⟩

/-! ### Helper lemmas -/

/-- `Q.isZeroC` says the number is `Q.zero`, field by field. -/
theorem Q.eq_zero_of_isZeroC : {q : Q} → Q.isZeroC q = true → q = Q.zero
  | ⟨s, n, d⟩, h => by
    have a := and_true_split h
    have b := and_true_split a.1
    have en : n = 0 := nat_eq_of_beq_eq_true b.2
    have ed : d = 1 := nat_eq_of_beq_eq_true a.2
    cases s with
    | true => exact Bool.noConfusion b.1
    | false => subst en; subst ed; rfl

/-- A product with a factor of numerator zero is zero. -/
theorem Q.mul_num_zero (c s : Q) (h : s.num = 0) : Q.mul c s = Q.zero := by
  unfold Q.mul Q.make
  have e : Nat.mul c.num 0 = 0 := nat_mul_zero c.num
  rw [h, e]
  rfl

/-- The lazy slopes are the slopes. -/
theorem reluSlopesF_eq : (c : List Q) → (r : Relax) → reluSlopesF c r = reluSlopes c r
  | [], _ => rfl
  | _ :: _, [] => rfl
  | c0 :: cs, l :: ls => by
    show cond (slopesZero l) Q.zero (Q.mul c0 (pickLine c0 l).1) :: reluSlopesF cs ls =
      Q.mul c0 (pickLine c0 l).1 :: reluSlopes cs ls
    rw [reluSlopesF_eq cs ls]
    cases h : slopesZero l with
    | false => rfl
    | true =>
      have a := and_true_split h
      have hz : (pickLine c0 l).1.num = 0 := by
        unfold pickLine
        cases Q.ble Q.zero c0 with
        | true => exact nat_eq_of_beq_eq_true a.1
        | false => exact nat_eq_of_beq_eq_true a.2
      show Q.zero :: reluSlopes cs ls = _
      rw [Q.mul_num_zero c0 _ hz]

/-- The lazy intercepts are the intercepts. -/
theorem reluIntsF_eq : (c : List Q) → (r : Relax) → reluIntsF c r = reluInts c r
  | [], _ => rfl
  | _ :: _, [] => rfl
  | c0 :: cs, l :: ls => by
    show cond (intsZero l) Q.zero (pickLine c0 l).2 :: reluIntsF cs ls =
      (pickLine c0 l).2 :: reluInts cs ls
    rw [reluIntsF_eq cs ls]
    cases h : intsZero l with
    | false => rfl
    | true =>
      have a := and_true_split h
      have hz : (pickLine c0 l).2 = Q.zero := by
        unfold pickLine
        cases Q.ble Q.zero c0 with
        | true => exact Q.eq_zero_of_isZeroC a.1
        | false => exact Q.eq_zero_of_isZeroC a.2
      show Q.zero :: reluInts cs ls = _
      rw [hz]

namespace V
namespace Lines

/-- Products respect equal values in the left factor (no positivity needed). -/
theorem mul_congr_left {a a' : V} (b : V) (h : eqv a a') : eqv (mul a b) (mul a' b) := by
  unfold eqv mul at *
  have s := congrArg₂ (· + ·) (congrArg (· * (b.pos * b.den)) h)
    (congrArg (· * (b.neg * b.den)) h.symm)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Regrouping four summands, `(a + c) + (b + d)` as `(a + b) + (c + d)`, keeps `≤` (the two
sides multiply out to the same polynomials). -/
theorem le_add_add_swap {a b c d z : V} (h : le (add (add a c) (add b d)) z) :
    le (add (add a b) (add c d)) z := by
  unfold le add at *
  simp only [nat_left_distrib, nat_right_distrib] at h ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at h ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at h ⊢
  exact h

/-- Products commute (as values). -/
theorem mul_comm_eqv (a b : V) : eqv (mul a b) (mul b a) := by
  unfold eqv mul
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- Sums commute (as values). -/
theorem add_comm_eqv (a b : V) : eqv (add a b) (add b a) := by
  unfold eqv add
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- Products distribute over sums (as values). -/
theorem mul_add_eqv (a b c : V) : eqv (mul (add a b) c) (add (mul a c) (mul b c)) := by
  unfold eqv mul add
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- `(s x) c = (c s) x`, as values. -/
theorem mul_mul_eqv (s x c : V) : eqv (mul (mul s x) c) (mul (mul c s) x) := by
  unfold eqv mul
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- `0 + 1 x = x`, as values. -/
theorem zero_add_one_mul_eqv (x : V) : eqv (add ⟨0, 0, 1⟩ (mul ⟨1, 0, 1⟩ x)) x := by
  unfold eqv mul add
  simp only [nat_zero_mul, nat_mul_zero, nat_one_mul, nat_mul_one, nat_zero_add, nat_add_zero]

/-- `0 + 0 x = 0`, as values. -/
theorem zero_add_zero_mul_eqv (x : V) :
    eqv (add ⟨0, 0, 1⟩ (mul ⟨0, 0, 1⟩ x)) ⟨0, 0, 1⟩ := by
  unfold eqv mul add
  simp only [nat_zero_mul, nat_mul_zero, nat_one_mul, nat_mul_one, nat_zero_add, nat_add_zero]

/-- `x = u x + x (1 - u)`, as values. -/
theorem split_one_sub_eqv (u x : V) :
    eqv x (add (mul u x) (mul x (add ⟨1, 0, 1⟩ (opp u)))) := by
  unfold eqv mul add opp
  simp only [nat_zero_mul, nat_mul_zero, nat_one_mul, nat_mul_one, nat_zero_add, nat_add_zero]
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- `h ≤ u h + i` gives `h (1 - u) ≤ i` (the first is the second scaled by `h`'s
denominator). -/
theorem one_sub_mul_le {u i h : V} (hh : 0 < h.den) (hH : le h (add (mul u h) i)) :
    le (mul h (add ⟨1, 0, 1⟩ (opp u))) i := by
  unfold le mul add opp at *
  apply nat_le_of_mul_le_mul_left hh
  simp only [nat_zero_mul, nat_mul_zero, nat_one_mul, nat_mul_one, nat_zero_add,
    nat_add_zero] at hH ⊢
  simp only [nat_left_distrib, nat_right_distrib] at hH ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at hH ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at hH ⊢
  exact hH


/-- Adding a value whose parts are both zero, on the right, keeps the value. -/
theorem add_zero_parts_eqv {a z : V} (h1 : z.pos = 0) (h2 : z.neg = 0) : eqv (add a z) a := by
  unfold eqv add
  rw [h1, h2]
  simp only [nat_zero_mul, nat_add_zero]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]

/-- Adding a value whose parts are both zero, on the left, keeps the value. -/
theorem zero_parts_add_eqv {z a b : V} (h1 : z.pos = 0) (h2 : z.neg = 0) (h : eqv a b) :
    eqv (add z a) b := by
  unfold eqv add at *
  rw [h1, h2]
  have s := congrArg (· * z.den) h
  simp only [nat_zero_mul, nat_zero_add] at s ⊢
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  exact s

/-- The lower line lies under `x` where `x ≥ 0`: `i + s x ≤ x` for `s ≤ 1` and `i ≤ 0`. -/
theorem lower_pos {s i x : V} (hx : 0 < x.den) (h1 : le s ⟨1, 0, 1⟩) (h2 : le i ⟨0, 0, 1⟩)
    (hx0 : x.neg ≤ x.pos) : le (add i (mul s x)) x :=
  le_trans (add_le_add h2 (mul_le_mul_nonneg hx0 h1)) (le_of_eqv (zero_add_one_mul_eqv x))
    (nat_mul_pos (nat_succ_pos 0) (nat_mul_pos (nat_succ_pos 0) hx))

/-- The lower line lies under `0` where `x ≤ 0`: `i + s x ≤ 0` for `s ≥ 0` and `i ≤ 0`. -/
theorem lower_neg {s i x : V} (hx : 0 < x.den) (h0 : le ⟨0, 0, 1⟩ s) (h2 : le i ⟨0, 0, 1⟩)
    (hx0 : x.pos ≤ x.neg) : le (add i (mul s x)) ⟨0, 0, 1⟩ :=
  le_trans (add_le_add h2 (mul_le_mul_nonpos hx0 h0)) (le_of_eqv (zero_add_zero_mul_eqv x))
    (nat_mul_pos (nat_succ_pos 0) (nat_mul_pos (nat_succ_pos 0) hx))

/-- The upper line lies over `x` for `x ≤ h`: `x ≤ i + u x` from `u ≤ 1` and `h ≤ u h + i`
(`x = u x + (1 - u) x ≤ u x + (1 - u) h ≤ u x + i`). -/
theorem upper_pos {u i x h : V} (hu : 0 < u.den) (hi : 0 < i.den) (hx : 0 < x.den)
    (hh : 0 < h.den) (h1 : le u ⟨1, 0, 1⟩) (hxh : le x h) (hH : le h (add (mul u h) i)) :
    le x (add i (mul u x)) := by
  have ht : (add ⟨1, 0, 1⟩ (opp u)).neg ≤ (add ⟨1, 0, 1⟩ (opp u)).pos := by
    unfold le at h1
    unfold add opp
    simp only [nat_zero_mul, nat_mul_zero, nat_one_mul, nat_mul_one, nat_zero_add,
      nat_add_zero] at h1 ⊢
    exact h1
  have htd : 0 < (add ⟨1, 0, 1⟩ (opp u)).den := nat_mul_pos (nat_succ_pos 0) hu
  have hux : 0 < (mul u x).den := nat_mul_pos hu hx
  refine le_trans (le_of_eqv (split_one_sub_eqv u x)) ?_ (nat_mul_pos hux (nat_mul_pos hx htd))
  refine le_trans (add_le_add (le_refl (mul u x)) (mul_le_mul_nonneg ht hxh)) ?_
    (nat_mul_pos hux (nat_mul_pos hh htd))
  refine le_trans (add_le_add (le_refl (mul u x)) (one_sub_mul_le hh hH)) ?_ (nat_mul_pos hux hi)
  exact le_of_eqv (add_comm_eqv _ _)

/-- The upper line lies over `0` for `x ≥ l`: `0 ≤ i + u x` from `u ≥ 0` and
`0 ≤ u l + i`. -/
theorem upper_neg {u i l x : V} (hu : 0 < u.den) (hi : 0 < i.den) (hl : 0 < l.den)
    (hx : 0 < x.den) (h0 : le ⟨0, 0, 1⟩ u) (hlx : le l x)
    (hL : le ⟨0, 0, 1⟩ (add (mul u l) i)) :
    le ⟨0, 0, 1⟩ (add i (mul u x)) := by
  refine le_trans hL ?_ (nat_mul_pos (nat_mul_pos hu hl) hi)
  refine le_trans (le_of_eqv (add_congr (mul_comm_eqv u l) (eqv_refl i))) ?_
    (nat_mul_pos (nat_mul_pos hl hu) hi)
  refine le_trans (add_le_add (mul_le_mul_nonneg (nonneg_of_zero_le h0) hlx) (le_refl i)) ?_
    (nat_mul_pos (nat_mul_pos hx hu) hi)
  refine le_trans (le_of_eqv (add_comm_eqv _ _)) ?_ (nat_mul_pos hi (nat_mul_pos hx hu))
  exact le_of_eqv (add_congr (eqv_refl i) (mul_comm_eqv x u))

/-- A line's inequality times `c`: from `(i + s x) c ≤ R c`, `i c + (c s) x ≤ c R`. -/
theorem line_mul {s i x c R : V} (hs : 0 < s.den) (hi : 0 < i.den) (hx : 0 < x.den)
    (hc : 0 < c.den) (hR : 0 < R.den) (h : le (mul (add i (mul s x)) c) (mul R c)) :
    le (add (mul i c) (mul (mul c s) x)) (mul c R) :=
  le_congr
    (eqv_trans (mul_add_eqv i (mul s x) c) (add_congr (eqv_refl _) (mul_mul_eqv s x c))
      (nat_mul_pos (nat_mul_pos hi hc) (nat_mul_pos (nat_mul_pos hs hx) hc)))
    (mul_comm_eqv R c) h (nat_mul_pos (nat_mul_pos hi (nat_mul_pos hs hx)) hc) (nat_mul_pos hR hc)

end Lines
end V

/-- The tests of `lineOk`, unpacked. -/
theorem lineOk_sound {r : Line4} {l h : Q} (hr : lineOk r l h = true) :
    r.1.WF ∧ r.2.1.WF ∧ r.2.2.1.WF ∧ r.2.2.2.WF ∧
    Q.ble Q.zero r.1 = true ∧ Q.ble r.1 Q.one = true ∧ Q.ble r.2.1 Q.zero = true ∧
    Q.ble Q.zero r.2.2.1 = true ∧ Q.ble r.2.2.1 Q.one = true ∧
    Q.ble Q.zero (Q.add (Q.mul r.2.2.1 l) r.2.2.2) = true ∧
    Q.ble h (Q.add (Q.mul r.2.2.1 h) r.2.2.2) = true := by
  unfold lineOk at hr
  have g7 := and_true_split hr
  have g6 := and_true_split g7.1
  have g5 := and_true_split g6.1
  have g4 := and_true_split g5.1
  have g3 := and_true_split g4.1
  have g2 := and_true_split g3.1
  have g1 := and_true_split g2.1
  have w := allWFb_sound g1.1
  exact ⟨w _ (List.Mem.head _), w _ (List.Mem.tail _ (List.Mem.head _)),
    w _ (List.Mem.tail _ (List.Mem.tail _ (List.Mem.head _))),
    w _ (List.Mem.tail _ (List.Mem.tail _ (List.Mem.tail _ (List.Mem.head _)))),
    g1.2, g2.2, g3.2, g4.2, g5.2, g6.2, g7.2⟩

/-- The lower line of accepted lines lies under `relu` (everywhere). -/
theorem lineOk_lower {ls li x : Q} (hls : ls.WF) (hli : li.WF) (hx : x.WF)
    (h0 : Q.ble Q.zero ls = true) (h1 : Q.ble ls Q.one = true) (h2 : Q.ble li Q.zero = true) :
    V.le (V.add li.toV (V.mul ls.toV x.toV)) (reluQ x).toV := by
  have one_wf : Q.one.WF := nat_succ_pos 0
  unfold reluQ
  cases hb : Q.blt Q.zero x with
  | true =>
    exact V.Lines.lower_pos hx ((Q.ble_iff hls one_wf).mp h1) ((Q.ble_iff hli Q.zero_wf).mp h2)
      (V.nonneg_of_zero_le ((Q.ble_iff Q.zero_wf hx).mp (Q.le_of_blt Q.zero_wf hx hb)))
  | false =>
    exact V.Lines.lower_neg hx ((Q.ble_iff Q.zero_wf hls).mp h0) ((Q.ble_iff hli Q.zero_wf).mp h2)
      (V.nonpos_of_le_zero ((Q.ble_iff hx Q.zero_wf).mp (Q.le_zero_of_blt hb)))

/-- The upper line of accepted lines lies over `relu` on `[l, h]`. -/
theorem lineOk_upper {us ui l x h : Q} (hus : us.WF) (hui : ui.WF) (b : Between l x h)
    (h0 : Q.ble Q.zero us = true) (h1 : Q.ble us Q.one = true)
    (hL : Q.ble Q.zero (Q.add (Q.mul us l) ui) = true)
    (hH : Q.ble h (Q.add (Q.mul us h) ui) = true) :
    V.le (reluQ x).toV (V.add ui.toV (V.mul us.toV x.toV)) := by
  obtain ⟨hl, hx, hh, hlx, hxh⟩ := b
  have one_wf : Q.one.WF := nat_succ_pos 0
  have eL : V.eqv (Q.add (Q.mul us l) ui).toV (V.add (V.mul us.toV l.toV) ui.toV) :=
    V.eqv_trans (Q.add_eqv (Q.mul_wf us l) hui) (V.add_congr (Q.mul_eqv hus hl) (V.eqv_refl _))
      (nat_mul_pos (Q.mul_wf us l) hui)
  have eH : V.eqv (Q.add (Q.mul us h) ui).toV (V.add (V.mul us.toV h.toV) ui.toV) :=
    V.eqv_trans (Q.add_eqv (Q.mul_wf us h) hui) (V.add_congr (Q.mul_eqv hus hh) (V.eqv_refl _))
      (nat_mul_pos (Q.mul_wf us h) hui)
  have vL : V.le ⟨0, 0, 1⟩ (V.add (V.mul us.toV l.toV) ui.toV) :=
    V.le_congr (V.eqv_refl _) eL ((Q.ble_iff Q.zero_wf (Q.add_wf _ _)).mp hL) Q.zero_wf
      (Q.add_wf _ _)
  have vH : V.le h.toV (V.add (V.mul us.toV h.toV) ui.toV) :=
    V.le_congr (V.eqv_refl _) eH ((Q.ble_iff hh (Q.add_wf _ _)).mp hH) hh (Q.add_wf _ _)
  unfold reluQ
  cases hb : Q.blt Q.zero x with
  | true =>
    exact V.Lines.upper_pos (h := h.toV) hus hui hx hh ((Q.ble_iff hus one_wf).mp h1)
      ((Q.ble_iff hx hh).mp hxh) vH
  | false =>
    exact V.Lines.upper_neg (l := l.toV) hus hui hl hx ((Q.ble_iff Q.zero_wf hus).mp h0)
      ((Q.ble_iff hl hx).mp hlx)
      vL

/-- One term of `relu_lines_sum`: `int c + (c slope) x ≤ c relu(x)` for the line `pickLine`
gives, for `x` within the bounds the lines were accepted on. -/
theorem relu_line_term {r : Line4} {l x h c : Q} (hr : lineOk r l h = true) (b : Between l x h)
    (hc : c.WF) :
    V.le (V.add (V.mul (pickLine c r).2.toV c.toV) (V.mul (Q.mul c (pickLine c r).1).toV x.toV))
      (V.mul c.toV (reluQ x).toV) := by
  obtain ⟨ls, li, us, ui⟩ := r
  obtain ⟨wls, wli, wus, wui, a1, a2, a3, a4, a5, a6, a7⟩ := lineOk_sound hr
  have hx := b.2.1
  have hR := reluQ_wf hx
  unfold pickLine
  cases hc0 : Q.ble Q.zero c with
  | true =>
    have k := V.Lines.line_mul (s := ls.toV) (i := li.toV) (x := x.toV) (c := c.toV)
      (R := (reluQ x).toV) wls wli hx hc hR
      (V.mul_le_mul_nonneg (V.nonneg_of_zero_le ((Q.ble_iff Q.zero_wf hc).mp hc0))
        (lineOk_lower wls wli hx a1 a2 a3))
    exact V.le_congr
      (V.add_congr (V.eqv_refl _) (V.Lines.mul_congr_left _ (V.eqv_symm' (Q.mul_eqv hc wls))))
      (V.eqv_refl _) k (nat_mul_pos (nat_mul_pos wli hc) (nat_mul_pos (nat_mul_pos hc wls) hx))
      (nat_mul_pos hc hR)
  | false =>
    have k := V.Lines.line_mul (s := us.toV) (i := ui.toV) (x := x.toV) (c := c.toV)
      (R := (reluQ x).toV) wus wui hx hc hR
      (V.mul_le_mul_nonpos
        (V.nonpos_of_le_zero ((Q.ble_iff hc Q.zero_wf).mp (Q.le_of_ble_false Q.zero_wf hc hc0)))
        (lineOk_upper wus wui b a4 a5 a6 a7))
    exact V.le_congr
      (V.add_congr (V.eqv_refl _) (V.Lines.mul_congr_left _ (V.eqv_symm' (Q.mul_eqv hc wus))))
      (V.eqv_refl _) k (nat_mul_pos (nat_mul_pos wui hc) (nat_mul_pos (nat_mul_pos hc wus) hx))
      (nat_mul_pos hc hR)


/-- A list made by `zipWithL` from a function whose values are all rationals is all rationals. -/
theorem zipWithL_allWF {α β : Type} {f : α → β → Q} (hf : ∀ a b, (f a b).WF) :
    (as : List α) → (bs : List β) → AllWF (zipWithL f as bs)
  | [], _ => fun _ hq => nomatch hq
  | _ :: _, [] => fun _ hq => nomatch hq
  | a :: as, b :: bs => fun q hq => by
    change q ∈ f a b :: zipWithL f as bs at hq
    cases hq with
    | head => exact hf a b
    | tail _ hq' => exact zipWithL_allWF hf as bs q hq'

/-- Both lines of accepted lines are rationals, so the one a coefficient meets is. -/
theorem pickLine_wf {c : Q} {r : Line4} {l h : Q} (hr : lineOk r l h = true) :
    (pickLine c r).1.WF ∧ (pickLine c r).2.WF := by
  obtain ⟨w1, w2, w3, w4, _⟩ := lineOk_sound hr
  unfold pickLine
  cases Q.ble Q.zero c
  · exact ⟨w3, w4⟩
  · exact ⟨w1, w2⟩

/-- A sum with zero coefficients has both parts zero. -/
theorem vdot_replicate_zero_parts : (n : Nat) → (v : List Q) →
    (vdot (List.replicate n Q.zero) v).pos = 0 ∧ (vdot (List.replicate n Q.zero) v).neg = 0
  | 0, _ => ⟨rfl, rfl⟩
  | _ + 1, [] => ⟨rfl, rfl⟩
  | n + 1, a :: vs => by
    obtain ⟨h1, h2⟩ := vdot_replicate_zero_parts n vs
    refine ⟨?_, ?_⟩
    · show (0 * a.toV.pos + 0 * a.toV.neg) * (vdot (List.replicate n Q.zero) vs).den +
        (vdot (List.replicate n Q.zero) vs).pos * (1 * a.toV.den) = 0
      rw [h1]
      simp only [nat_zero_mul, nat_add_zero]
    · show (0 * a.toV.neg + 0 * a.toV.pos) * (vdot (List.replicate n Q.zero) vs).den +
        (vdot (List.replicate n Q.zero) vs).neg * (1 * a.toV.den) = 0
      rw [h2]
      simp only [nat_zero_mul, nat_add_zero]

/-- Every slope after a ReLU is a rational. -/
theorem reluSlopes_wf (c : List Q) (r : Relax) : AllWF (reluSlopes c r) := by
  exact zipWithL_allWF (fun _ _ => Q.mul_wf _ _) c r

/-- Every intercept met is a rational, when the lines are accepted. -/
theorem reluInts_wf {c : List Q} {r : Relax} {lo hi : List Q} (hr : relaxOk r lo hi = true) :
    AllWF (reluInts c r) := by
  induction r generalizing c lo hi with
  | nil => cases c <;> exact fun _ hq => nomatch hq
  | cons r0 rs ih =>
    cases lo with
    | nil => cases hi <;> exact Bool.noConfusion hr
    | cons l0 ls =>
      cases hi with
      | nil => exact Bool.noConfusion hr
      | cons h0 hs =>
        cases c with
        | nil => exact fun _ hq => nomatch hq
        | cons c0 cs =>
          have h2 := and_true_split hr
          intro q hq
          change q ∈ (pickLine c0 r0).2 :: reluInts cs rs at hq
          cases hq with
          | head => exact (pickLine_wf h2.1).2
          | tail _ hq' => exact ih h2.2 q hq'

/-- The lines bound `Σ c_i relu(x_i)` below: by `Σ c_i int_i + Σ (c_i slope_i) x_i`, each
coefficient meeting the line `pickLine` gives it, for every `x` within the bounds the lines were
accepted on. -/
theorem relu_lines_sum {lo x hi : List Q} (w : Within lo x hi) {r : Relax} (hr : relaxOk r lo hi = true)
    {c : List Q} (hc : AllWF c) (hl : r.length = c.length) :
    V.le (V.add (vdot (reluInts c r) c) (vdot (reluSlopes c r) x)) (vdot c (x.map reluQ)) := by
  induction w generalizing r c with
  | nil =>
    cases r with
    | nil => cases c <;> exact nat_le_refl _
    | cons r0 rs => exact Bool.noConfusion hr
  | cons b w' ih =>
    cases r with
    | nil => exact Bool.noConfusion hr
    | cons r0 rs =>
      cases c with
      | nil => exact Nat.noConfusion hl
      | cons c0 cs =>
        have h2 := and_true_split hr
        exact V.Lines.le_add_add_swap
          (V.add_le_add (relu_line_term h2.1 b (hc c0 (List.Mem.head cs)))
            (ih h2.2 (fun q hq => hc q (List.Mem.tail c0 hq)) (congrArg Nat.pred hl)))

/-- Every element of a unit row is a rational. -/
theorem unitRow_wf {s : Q} (hs : s.WF) (e n : Nat) : AllWF (unitRow s e n) := by
  induction n generalizing e with
  | zero => cases e <;> exact fun _ hq => nomatch hq
  | succ n ih =>
    cases e with
    | zero =>
      intro q hq
      change q ∈ s :: List.replicate n Q.zero at hq
      cases hq with
      | head => exact hs
      | tail _ hq' => exact replicate_zero_wf n q hq'
    | succ e =>
      intro q hq
      change q ∈ Q.zero :: unitRow s e n at hq
      cases hq with
      | head => exact Q.zero_wf
      | tail _ hq' => exact ih e q hq'

/-- A unit row picks one element: `Σ_i unit_i v_i = s v_e`. -/
theorem vdot_unitRow {s : Q} (hs : s.WF) : (e n : Nat) → (v : List Q) → AllWF v → e < n →
    n ≤ v.length → V.eqv (vdot (unitRow s e n) v) (V.mul s.toV (nthD v e Q.zero).toV) := by
  intro e
  induction e with
  | zero =>
    intro n v _ he hn
    cases n with
    | zero => exact absurd he (nat_not_succ_le_zero 0)
    | succ n =>
      cases v with
      | nil => exact absurd hn (nat_not_succ_le_zero n)
      | cons a vs =>
        obtain ⟨h1, h2⟩ := vdot_replicate_zero_parts n vs
        show V.eqv (V.add (V.mul s.toV a.toV) (vdot (List.replicate n Q.zero) vs))
          (V.mul s.toV a.toV)
        exact V.Lines.add_zero_parts_eqv h1 h2
  | succ e ih =>
    intro n v hv he hn
    cases n with
    | zero => exact absurd he (nat_not_succ_le_zero _)
    | succ n =>
      cases v with
      | nil => exact absurd hn (nat_not_succ_le_zero n)
      | cons a vs =>
        show V.eqv (V.add (V.mul Q.zero.toV a.toV) (vdot (unitRow s e n) vs))
          (V.mul s.toV (nthD vs e Q.zero).toV)
        have z1 : (V.mul Q.zero.toV a.toV).pos = 0 := by
          show 0 * a.toV.pos + 0 * a.toV.neg = 0
          simp only [nat_zero_mul, nat_add_zero]
        have z2 : (V.mul Q.zero.toV a.toV).neg = 0 := by
          show 0 * a.toV.neg + 0 * a.toV.pos = 0
          simp only [nat_zero_mul, nat_add_zero]
        exact V.Lines.zero_parts_add_eqv z1 z2 (ih n vs (fun q hq => hv q (List.Mem.tail a hq))
          (nat_le_of_succ_le_succ he) (nat_le_of_succ_le_succ hn))

end Pytorch2Lean
