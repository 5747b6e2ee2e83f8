/-
Robustness queries and the corollary a robustness certificate yields.

A robustness query (input box, label `L`, `n` classes) asks that the network's output `y` rank
class `L` strictly first. The spec (`Property.robustness` in `pytorch2lean/spec/property.py`)
writes it in the VNN-LIB form: `y` is unsafe when, for some class `j ≠ L`, `y_L - y_j ≤ 0`. One
term per such `j`, in increasing `j`, each the single constraint `⟨coeffs_j, 0, false⟩` with
`coeffs_j` of length `n`: `1` at `L`, `-1` at `j`, `0` elsewhere. `robustnessTerms L n` is that
list, built by functions the kernel evaluates to exactly the literals the exporter would write
(`[1, -1, 0]`, with `-1` as `Q.neg' 1`), so a certificate theorem can state
`OutProp.avoids (robustnessTerms L n)` directly.

`argmax_of_avoids` reads the avoided terms as the plain statement `ArgmaxIs L n y`: every other
one of the first `n` entries of `y` is smaller than entry `L`. The arithmetic: the dot product of
`y` with `coeffs_j` has the value `y_L - y_j` (`margin_dot_eqv`), computed on the naturals of
`QOrder` (`V`), so `¬ (dot ≤ 0)` is `y_j < y_L`. Entries past the end of a short `y` read as
zero on both sides (`nthD`, and `dot` stopping at the shorter list).

The corollaries need the output's elements to be rationals (positive denominators): an output
can carry a parameter unchanged, and only the checker asks parameters for that.
`robust_of_safe` takes it as part of the `Safe` statement; `robust_of_checkIBP` gets it from the
interval checker itself (`checkIBP_sound_wf`, the proof of `checkIBP_sound` keeping the
enclosure's well-formedness).
-/
import Pytorch2Lean.CheckIBP
import Pytorch2Lean.Linear

namespace Pytorch2Lean

-- Polynomial identities are normalised in passes with fixed lemma lists, as in `QOrder`.
set_option linter.unusedSimpArgs false

/-! ### The statement -/

/-- `label` is the strict argmax of the first `n` entries of `y`: every other entry is smaller. -/
def ArgmaxIs (label n : Nat) (y : List Q) : Prop :=
  ∀ j, j < n → j ≠ label → nthD y j Q.zero < nthD y label Q.zero

/-- Coefficient `k` of `y_label - y_j` (for `j ≠ label`): `1` at `label`, `-1` at `j`, else `0`. -/
def marginCoeff (label j k : Nat) : Q :=
  cond (Nat.beq k label) 1 (cond (Nat.beq k j) (-1) 0)

/-- Coefficients `k, k + 1, ..., k + m - 1` of `y_label - y_j`. -/
def marginFrom (label j : Nat) : Nat → Nat → List Q
  | _, 0 => []
  | k, m + 1 => marginCoeff label j k :: marginFrom label j (k + 1) m

/-- The coefficients of `y_label - y_j` over `n` outputs. -/
def marginCoeffs (label j n : Nat) : List Q := marginFrom label j 0 n

/-- The unsafe terms for classes `j = k, k + 1, ..., k + m - 1` other than `label`. -/
def robustnessFrom (label n : Nat) : Nat → Nat → List (List Constraint)
  | _, 0 => []
  | j, m + 1 =>
    cond (Nat.beq j label) (robustnessFrom label n (j + 1) m)
      ([⟨marginCoeffs label j n, 0, false⟩] :: robustnessFrom label n (j + 1) m)

/-- The unsafe terms of the robustness property: some class `j ≠ label` reaches the label's
score (`y_label - y_j ≤ 0`), one term per `j`, in increasing `j`, as the spec writes them. -/
def robustnessTerms (label n : Nat) : List (List Constraint) := robustnessFrom label n 0 n

/-! ### Values on the naturals -/

namespace V

/-- Adding zero minus zero changes nothing. -/
theorem add_zero_sub_zero (a : V) : eqv a (add a (add zero (opp zero))) := by
  unfold eqv add opp zero
  simp only [nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul, nat_add_zero, nat_zero_add]

/-- `a ≤ b` makes `a - b` at most zero. -/
theorem sub_le_zero {a b : V} (h : le a b) : le (add zero (add a (opp b))) zero := by
  unfold le add opp zero at *
  simp only [nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul, nat_add_zero, nat_zero_add]
  simp only [nat_add_comm] at h ⊢
  exact h

end V

/-- `x * 1`, then `+ (0 + r)`, is `x + r`. -/
theorem mulV_one_step (x : Q) (r : V) :
    V.eqv (V.add (mulV x ⟨false, 1, 1⟩) (V.add V.zero r)) (V.add x.toV r) := by
  cases x with
  | mk s n d =>
    cases s <;> simp only [V.eqv, V.add, V.zero, mulV, Q.toV, V.signed, cond_true', cond_false',
      bne_false_false, bne_true_false, nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- `x * (-1)`, then `+ (l - 0)`, is `l - x`. -/
theorem mulV_neg_one_step (x : Q) (l : V) :
    V.eqv (V.add (mulV x ⟨true, 1, 1⟩) (V.add l (V.opp V.zero))) (V.add l (V.opp x.toV)) := by
  cases x with
  | mk s n d =>
    cases s <;> simp only [V.eqv, V.add, V.opp, V.zero, mulV, Q.toV, V.signed, cond_true',
      cond_false', bne_false_true, bne_true_true, nat_zero_mul, nat_mul_zero, nat_mul_one,
      nat_one_mul, nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- `x * 0`, then `+ r`, is `r`. -/
theorem mulV_zero_step (x : Q) (r : V) : V.eqv (V.add (mulV x ⟨false, 0, 1⟩) r) r := by
  cases x with
  | mk s n d =>
    cases s <;> simp only [V.eqv, V.add, mulV, V.signed, cond_true', cond_false',
      bne_false_false, bne_true_false, nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul,
      nat_add_zero, nat_zero_add] <;>
    (try simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-! ### Entries of a list read from an offset -/

/-- Entry `i - k` of `y` for `k ≤ i`, zero for `i < k`: entry `i` of the outputs when `y` holds
those from position `k` on. -/
def nthFrom : List Q → Nat → Nat → Q
  | y, 0, i => nthD y i Q.zero
  | _, _ + 1, 0 => Q.zero
  | y, k + 1, i + 1 => nthFrom y k i

/-- `Nat.beq` of different numbers is `false`. -/
theorem nat_beq_false_of_ne {a b : Nat} (h : a ≠ b) : Nat.beq a b = false := by
  cases e : Nat.beq a b with
  | false => rfl
  | true => exact absurd (nat_eq_of_beq_eq_true e) h

/-- `Nat.beq a b = false` means `a ≠ b`. -/
theorem nat_ne_of_beq_false {a b : Nat} (h : Nat.beq a b = false) : a ≠ b := by
  intro e
  rw [e, nat_beq_refl] at h
  exact Bool.noConfusion h

/-- Past the head: entry `k` is the head, the others read the tail from `k + 1` on. -/
theorem nthFrom_cons (a : Q) (ys : List Q) :
    (k i : Nat) → nthFrom (a :: ys) k i = cond (Nat.beq k i) a (nthFrom ys (k + 1) i)
  | 0, 0 => rfl
  | 0, _ + 1 => rfl
  | _ + 1, 0 => rfl
  | k + 1, i + 1 => nthFrom_cons a ys k i

/-- Nothing is read from the empty list. -/
theorem nthFrom_nil : (k i : Nat) → nthFrom [] k i = Q.zero
  | 0, _ => rfl
  | _ + 1, 0 => rfl
  | k + 1, i + 1 => nthFrom_nil k i

/-- Before the offset: zero. -/
theorem nthFrom_lt (y : List Q) : (k i : Nat) → i < k → nthFrom y k i = Q.zero
  | 0, _, h => absurd h (nat_not_succ_le_zero _)
  | _ + 1, 0, _ => rfl
  | k + 1, i + 1, h => nthFrom_lt y k i (nat_le_of_succ_le_succ h)

/-- An entry of a list of rationals (or the default zero) is a rational. -/
theorem nthD_wf : {y : List Q} → AllWF y → (i : Nat) → (nthD y i Q.zero).WF
  | [], _, _ => Q.zero_wf
  | a :: _, h, 0 => h a (List.Mem.head _)
  | _ :: as, h, i + 1 => nthD_wf (y := as) (fun q hq => h q (List.Mem.tail _ hq)) i

/-- Entries read from an offset are rationals. -/
theorem nthFrom_wf {y : List Q} (hy : AllWF y) : (k i : Nat) → (nthFrom y k i).WF
  | 0, i => nthD_wf hy i
  | _ + 1, 0 => Q.zero_wf
  | k + 1, i + 1 => nthFrom_wf hy k i

/-! ### The margin's value -/

/-- `y_label - y_j` for entries read from offset `k`. -/
def marginV (y : List Q) (label j k : Nat) : V :=
  V.add (nthFrom y k label).toV (V.opp (nthFrom y k j).toV)

/-- The margin's denominator is positive. -/
theorem marginV_den {y : List Q} (hy : AllWF y) (label j k : Nat) : 0 < (marginV y label j k).den :=
  nat_mul_pos (nthFrom_wf hy k label) (nthFrom_wf hy k j)

/-- The running sum of `y * coeffs`, over the coefficients from offset `k`, adds the value
`y_label - y_j` (entries read from `k`) to the running sum it starts from. -/
theorem margin_dotAcc {label j : Nat} (hlj : label ≠ j) : (m k : Nat) → (y : List Q) → (acc : Acc) →
    AllWF y → 0 < acc.den → label < k + m → j < k + m →
    0 < (dotAcc y (marginFrom label j k m) acc).den ∧
      V.eqv (dotAcc y (marginFrom label j k m) acc).toV (V.add acc.toV (marginV y label j k))
  | 0, k, y, acc, _, hD, hl, hj => by
    have e1 : nthFrom y k label = Q.zero := nthFrom_lt y k label hl
    have e2 : nthFrom y k j = Q.zero := nthFrom_lt y k j hj
    have hd : dotAcc y (marginFrom label j k 0) acc = acc := by cases y <;> rfl
    rw [hd]
    refine ⟨hD, ?_⟩
    unfold marginV
    rw [e1, e2]
    exact V.add_zero_sub_zero acc.toV
  | m + 1, k, [], acc, _, hD, _, _ => by
    refine ⟨hD, ?_⟩
    unfold marginV
    rw [nthFrom_nil, nthFrom_nil]
    exact V.add_zero_sub_zero acc.toV
  | m + 1, k, a :: ys, acc, hy, hD, hl, hj => by
    have ha : a.WF := hy a (List.Mem.head _)
    have hys : AllWF ys := fun q hq => hy q (List.Mem.tail _ hq)
    have hl' : label < (k + 1) + m := by rw [nat_succ_add]; exact hl
    have hj' : j < (k + 1) + m := by rw [nat_succ_add]; exact hj
    have hstep : dotAcc (a :: ys) (marginFrom label j k (m + 1)) acc =
        dotAcc ys (marginFrom label j (k + 1) m) (acc.addMul a (marginCoeff label j k)) := by
      show (acc.addMul a (marginCoeff label j k)).strict (dotAcc ys (marginFrom label j (k + 1) m)) = _
      rw [Acc.strict_eq]
    rw [hstep]
    generalize hc : marginCoeff label j k = c
    have hcw : c.WF := by
      rw [← hc]
      unfold marginCoeff
      cases Nat.beq k label
      · cases Nat.beq k j
        · exact nat_succ_pos 0
        · exact nat_succ_pos 0
      · exact nat_succ_pos 0
    have e := Acc.addMul_eqv acc a c hD ha hcw
    have ih := margin_dotAcc hlj m (k + 1) ys (acc.addMul a c) hys e.1 hl' hj'
    refine ⟨ih.1, ?_⟩
    -- the step: `mulV a c + margin from k + 1` is the margin from `k`
    have key : V.eqv (V.add (mulV a c) (marginV ys label j (k + 1))) (marginV (a :: ys) label j k) := by
      unfold marginV
      rw [nthFrom_cons, nthFrom_cons]
      cases hkl : Nat.beq k label with
      | true =>
        have ekl : k = label := nat_eq_of_beq_eq_true hkl
        have hkj : Nat.beq k j = false := nat_beq_false_of_ne (ekl ▸ hlj)
        have hc1 : c = ⟨false, 1, 1⟩ := by rw [← hc]; unfold marginCoeff; rw [hkl]; rfl
        rw [hkj, hc1, nthFrom_lt ys (k + 1) label (ekl ▸ nat_le_refl (k + 1))]
        exact mulV_one_step a _
      | false =>
        cases hkj : Nat.beq k j with
        | true =>
          have ekj : k = j := nat_eq_of_beq_eq_true hkj
          have hc1 : c = ⟨true, 1, 1⟩ := by rw [← hc]; unfold marginCoeff; rw [hkl, hkj]; rfl
          rw [hc1, nthFrom_lt ys (k + 1) j (ekj ▸ nat_le_refl (k + 1))]
          exact mulV_neg_one_step a _
        | false =>
          have hc1 : c = ⟨false, 0, 1⟩ := by rw [← hc]; unfold marginCoeff; rw [hkl, hkj]; rfl
          rw [hc1]
          exact mulV_zero_step a _
    have hm : 0 < (mulV a c).den := nat_mul_pos ha hcw
    have hA : 0 < (acc.addMul a c).den := e.1
    have hM' := marginV_den hys label j (k + 1)
    -- chain: X ≈ A' + M' ≈ (acc + mulV) + M' ≈ acc + (mulV + M') ≈ acc + M
    have c1 : V.eqv (V.add (acc.addMul a c).toV (marginV ys label j (k + 1)))
        (V.add (V.add acc.toV (mulV a c)) (marginV ys label j (k + 1))) :=
      V.add_congr e.2 (V.eqv_refl _)
    have c2 := V.add_assoc_eqv acc.toV (mulV a c) (marginV ys label j (k + 1))
    have c3 : V.eqv (V.add acc.toV (V.add (mulV a c) (marginV ys label j (k + 1))))
        (V.add acc.toV (marginV (a :: ys) label j k)) := V.add_congr (V.eqv_refl _) key
    have c23 := V.eqv_trans c2 c3 (nat_mul_pos hD (nat_mul_pos hm hM'))
    exact V.eqv_trans ih.2 (V.eqv_trans c1 c23 (nat_mul_pos (nat_mul_pos hD hm) hM'))
      (nat_mul_pos hA hM')

/-- `dot y (marginCoeffs label j n) 0` has the value `y_label - y_j` (entries past the end of `y`
read as zero). -/
theorem margin_dot_eqv {y : List Q} (hy : AllWF y) {label j n : Nat} (hlj : label ≠ j)
    (hl : label < n) (hj : j < n) :
    V.eqv (dot y (marginCoeffs label j n) Q.zero).toV
      (V.add V.zero (V.add (nthD y label Q.zero).toV (V.opp (nthD y j Q.zero).toV))) := by
  have hl0 : label < 0 + n := by rw [nat_zero_add]; exact hl
  have hj0 : j < 0 + n := by rw [nat_zero_add]; exact hj
  have r := margin_dotAcc hlj n 0 y (Acc.ofQ Q.zero) hy Q.zero_wf hl0 hj0
  exact V.eqv_trans (Q.make_eqv _ _ _ r.1) r.2 r.1

/-! ### The corollary -/

/-- Each class `j < n` other than `label` has its term among the unsafe terms. -/
theorem mem_robustnessFrom {label n j : Nat} (hjl : j ≠ label) :
    (m k : Nat) → k ≤ j → j < k + m →
      [⟨marginCoeffs label j n, 0, false⟩] ∈ robustnessFrom label n k m
  | 0, k, hk, hj => absurd (nat_lt_of_le_of_lt hk hj) (nat_lt_irrefl k)
  | m + 1, k, hk, hj => by
    cases nat_eq_or_lt_of_le hk with
    | inl e =>
      subst e
      show _ ∈ cond (Nat.beq k label) _ _
      rw [nat_beq_false_of_ne hjl]
      exact List.Mem.head _
    | inr hlt =>
      have ih := mem_robustnessFrom (n := n) hjl m (k + 1) hlt (by rw [nat_succ_add]; exact hj)
      show _ ∈ cond (Nat.beq k label) _ _
      cases Nat.beq k label
      · exact List.Mem.tail _ ih
      · exact ih

/-- Avoiding every unsafe term of the robustness property makes `label` the strict argmax of the
first `n` outputs. -/
theorem argmax_of_avoids {label n : Nat} {y : List Q} (hl : label < n)
    (hy : ∀ q, q ∈ y → q.WF) :
    (OutProp.avoids (robustnessTerms label n)).Holds y → ArgmaxIs label n y := by
  intro h j hj hjl
  have hmem : [⟨marginCoeffs label j n, 0, false⟩] ∈ robustnessTerms label n :=
    mem_robustnessFrom hjl n 0 (nat_zero_le j) (by rw [nat_zero_add]; exact hj)
  obtain ⟨c, hc, hnot⟩ := h _ hmem
  have ec : c = ⟨marginCoeffs label j n, 0, false⟩ := by
    cases hc with
    | head => rfl
    | tail _ h' => exact nomatch h'
  subst ec
  have hwl := nthD_wf hy label
  have hwj := nthD_wf hy j
  refine (Q.blt_iff hwj hwl).mpr (fun hle => hnot ?_)
  have v := margin_dot_eqv hy (fun e => hjl e.symm) hl hj
  show Q.ble (dot y (marginCoeffs label j n) Q.zero) Q.zero = true
  refine (Q.ble_iff (dot_wf _ _ _) Q.zero_wf).mpr ?_
  exact V.le_congr (V.eqv_symm' v) (V.eqv_refl _) (V.sub_le_zero hle)
    (nat_mul_pos (nat_succ_pos 0) (nat_mul_pos hwl hwj)) (nat_succ_pos 0)

/-- The corollary a robustness certificate yields, given that the output's elements are
rationals (`checkIBP_sound_wf` gives both at once; see `robust_of_checkIBP`). -/
theorem robust_of_safe {g : Graph} {params : List (List Q)} {box : Box} {label n out : Nat}
    (hl : label < n) :
    Safe g params box (fun ys => AllWF (nthD ys out []) ∧
      (OutProp.avoids (robustnessTerms label n)).Holds (nthD ys out [])) →
    Safe g params box (fun ys => ArgmaxIs label n (nthD ys out [])) := by
  intro h E hE xs hx
  obtain ⟨ys, hys, hw, hp⟩ := h E hE xs hx
  exact ⟨ys, hys, argmax_of_avoids hl hw hp⟩

/-- **The robustness corollary.** A certificate for the robustness property that the interval
checker accepts proves that, for every enclosure and every input in the box, the network has
outputs and `label` is the strict argmax of the first `n` entries of output `out`. -/
theorem robust_of_checkIBP (g : Graph) (params : List (List Q)) (box : Box)
    (stated : List (List Q × List Q)) (out label n : Nat) (hl : label < n)
    (h : checkIBP g params box stated out (OutProp.avoids (robustnessTerms label n)) = true) :
    Safe g params box (fun ys => ArgmaxIs label n (nthD ys out [])) :=
  robust_of_safe hl (checkIBP_sound_wf g params box stated out _ h)

end Pytorch2Lean
