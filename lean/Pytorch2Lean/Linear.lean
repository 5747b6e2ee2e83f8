/-
Linear functions of a node's value, on the naturals: the algebra back-substitution needs.

A CROWN checker moves a linear function `k + Σ c_i v_i` of a node's value `v` backwards through
the op that computed `v`, getting a linear function of the op's operand. Its soundness is a chain
of value equalities (`V.eqv`) and inequalities (`V.le`) between such sums. `vdot c v` is the sum
`Σ c_i v_i` on the naturals of `QOrder` (`V`), without reductions; `dot_eqv` says that the
reduced sum the denotation computes (`dot`) has that value; the exchange lemmas move a sum
through a product with a matrix (`linear_exchange`) and through sums of lists (`vdot_add`, ...).
-/
import Pytorch2Lean.Within

namespace Pytorch2Lean

-- Polynomial identities are normalised in passes with fixed lemma lists, as in `QOrder`.
set_option linter.unusedSimpArgs false

namespace V

/-- Zero. -/
def zero : V := ⟨0, 0, 1⟩

/-- Sums respect equal values (no positivity needed). -/
theorem add_congr {a a' b b' : V} (ha : eqv a a') (hb : eqv b b') : eqv (add a b) (add a' b') := by
  unfold eqv add at *
  have s := congrArg₂ (· + ·) (congrArg (· * (b.den * b'.den)) ha) (congrArg (· * (a.den * a'.den)) hb)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Values with equal fields are equal. -/
theorem mk_eq_mk {p n d p' n' d' : Nat} (h1 : p = p') (h2 : n = n') (h3 : d = d') :
    (⟨p, n, d⟩ : V) = ⟨p', n', d'⟩ := by
  subst h1; subst h2; subst h3; rfl

/-- Equal values are equivalent. -/
theorem eqv_of_eq {a b : V} (h : a = b) : eqv a b := by
  subst h; exact eqv_refl _

/-- A sum of values with positive denominators has a positive denominator. -/
theorem add_den_pos {a b : V} (ha : 0 < a.den) (hb : 0 < b.den) : 0 < (add a b).den :=
  nat_mul_pos ha hb

/-- A product of values with positive denominators has a positive denominator. -/
theorem mul_den_pos {a b : V} (ha : 0 < a.den) (hb : 0 < b.den) : 0 < (mul a b).den :=
  nat_mul_pos ha hb

/-- Products commute (the representations are equal). -/
theorem mul_comm_eq (a b : V) : mul a b = mul b a := by
  unfold mul
  simp only [nat_mul_comm, nat_add_comm]

/-- Sums commute (the representations are equal). -/
theorem add_comm_eq (a b : V) : add a b = add b a := by
  unfold add
  simp only [nat_mul_comm, nat_add_comm]

/-- Sums are associative (the representations are equal). -/
theorem add_assoc_eq (a b c : V) : add (add a b) c = add a (add b c) := by
  unfold add
  apply mk_eq_mk <;>
    (simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- Sums are associative. -/
theorem add_assoc_eqv (a b c : V) : eqv (add (add a b) c) (add a (add b c)) :=
  eqv_of_eq (add_assoc_eq a b c)

/-- `a + (b + c) = b + (a + c)` (the representations are equal). -/
theorem add_left_comm_eq (a b c : V) : add a (add b c) = add b (add a c) := by
  rw [← add_assoc_eq, add_comm_eq a b, add_assoc_eq]

/-- `(a + b) + (c + d) = (a + c) + (b + d)` (the representations are equal). -/
theorem add_add_add_comm_eq (a b c d : V) : add (add a b) (add c d) = add (add a c) (add b d) := by
  rw [add_assoc_eq, add_left_comm_eq b c d, ← add_assoc_eq]

/-- Products respect equal values in the left factor (no positivity needed). -/
theorem mul_congr_left {a a' : V} (b : V) (h : eqv a a') : eqv (mul a b) (mul a' b) := by
  unfold eqv mul at *
  have s := congrArg₂ (· + ·) (congrArg (· * (b.pos * b.den)) h)
    (congrArg (· * (b.neg * b.den)) h.symm)
  simp only [nat_left_distrib, nat_right_distrib] at s ⊢
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at s ⊢
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at s ⊢
  exact s

/-- Products respect equal values in the right factor. -/
theorem mul_congr_right (a : V) {b b' : V} (h : eqv b b') : eqv (mul a b) (mul a b') := by
  rw [mul_comm_eq a b, mul_comm_eq a b']
  exact mul_congr_left a h

/-- Scaling all three fields by `k` keeps the value. -/
theorem eqv_scale (a : V) (k : Nat) : eqv a ⟨k * a.pos, k * a.neg, k * a.den⟩ := by
  unfold eqv
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]

/-- Products distribute over sums on the left. -/
theorem mul_add_eqv (a b c : V) : eqv (mul a (add b c)) (add (mul a b) (mul a c)) := by
  have e : add (mul a b) (mul a c) = ⟨a.den * (mul a (add b c)).pos,
      a.den * (mul a (add b c)).neg, a.den * (mul a (add b c)).den⟩ := by
    unfold add mul
    apply mk_eq_mk <;>
      (simp only [nat_left_distrib, nat_right_distrib]) <;>
      (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
      (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])
  rw [e]
  exact eqv_scale _ _

/-- Products distribute over sums on the right. -/
theorem add_mul_eqv (a b c : V) : eqv (mul (add a b) c) (add (mul a c) (mul b c)) := by
  have e : add (mul a c) (mul b c) = ⟨c.den * (mul (add a b) c).pos,
      c.den * (mul (add a b) c).neg, c.den * (mul (add a b) c).den⟩ := by
    unfold add mul
    apply mk_eq_mk <;>
      (simp only [nat_left_distrib, nat_right_distrib]) <;>
      (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
      (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])
  rw [e]
  exact eqv_scale _ _

/-- `(w c) x = c (x w)` (the representations are equal). -/
theorem mul_mul_eq (w c x : V) : mul (mul w c) x = mul c (mul x w) := by
  unfold mul
  apply mk_eq_mk <;>
    (simp only [nat_left_distrib, nat_right_distrib]) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm])

/-- A negated left factor negates the product. -/
theorem mul_opp_left_eqv (a b : V) : eqv (mul (opp a) b) (opp (mul a b)) := by
  unfold eqv mul opp
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- Adding zero keeps the value. -/
theorem add_zero_eqv (a : V) : eqv a (add a zero) := by
  unfold eqv add zero
  simp only [nat_left_distrib, nat_right_distrib, nat_mul_one, nat_zero_mul, nat_add_zero]

/-- `0 = 0 + c * 0`. -/
theorem zero_eqv_add_zero_mul (c : V) : eqv zero (add zero (mul c zero)) := by
  unfold eqv add mul zero
  simp only [nat_zero_mul, nat_mul_zero, nat_add_zero, nat_zero_add]

/-- Adding a value with zero numerator (any denominator) keeps the value. -/
theorem add_zero_left_eqv {z : V} (y : V) (h1 : z.pos = 0) (h2 : z.neg = 0) : eqv y (add z y) := by
  unfold eqv add
  rw [h1, h2]
  simp only [nat_zero_mul, nat_zero_add]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]

end V

/-- `Σ c_i v_i` on the naturals (the shorter list decides the length): the value `dot` computes,
before its reductions. -/
def vdot : List Q → List Q → V
  | c :: cs, v :: vs => V.add (V.mul c.toV v.toV) (vdot cs vs)
  | _, _ => V.zero

/-! ### Small facts about lists -/

/-- The head of a list of rationals with positive denominators has one. -/
theorem allWF_head {a : Q} {l : List Q} (h : AllWF (a :: l)) : a.WF := h a (List.Mem.head l)

/-- The tail of a list of rationals with positive denominators has them. -/
theorem allWF_tail {a : Q} {l : List Q} (h : AllWF (a :: l)) : AllWF l :=
  fun q hq => h q (List.Mem.tail a hq)

/-- `m + 1 = n + 1` gives `m = n`. -/
theorem nat_succ_inj' {m n : Nat} (h : m + 1 = n + 1) : m = n := congrArg Nat.pred h

/-- An empty list is not as long as a non-empty one. -/
theorem length_nil_ne_cons {α β : Type} {a : β} {l : List β} (h : ([] : List α).length = (a :: l).length) :
    False := Nat.noConfusion h

/-- Zipping lists of one length keeps the length. -/
theorem length_zipWithL {α β γ : Type} (f : α → β → γ) : (as : List α) → (bs : List β) →
    as.length = bs.length → (zipWithL f as bs).length = as.length
  | [], _, _ => rfl
  | _ :: _, [], h => absurd h.symm (length_nil_ne_cons (α := β))
  | _ :: as, _ :: bs, h => congrArg Nat.succ (length_zipWithL f as bs (nat_succ_inj' h))

/-- A map keeps the length. -/
theorem length_map' {α β : Type} (f : α → β) : (l : List α) → (l.map f).length = l.length
  | [] => rfl
  | _ :: l => congrArg Nat.succ (length_map' f l)

/-- `List.replicate n a` has `n` elements. -/
theorem length_replicate' {α : Type} (a : α) : (n : Nat) → (List.replicate n a).length = n
  | 0 => rfl
  | n + 1 => congrArg Nat.succ (length_replicate' a n)

/-- A map that keeps positive denominators keeps them on a list. -/
theorem allWF_map {f : Q → Q} (hf : ∀ q, q.WF → (f q).WF) : (l : List Q) → AllWF l → AllWF (l.map f)
  | [], _ => fun _ hq => nomatch hq
  | a :: l, h => fun q hq => by
    cases hq with
    | head => exact hf a (allWF_head h)
    | tail _ hq' => exact allWF_map hf l (allWF_tail h) q hq'

/-- Zipping with a map whose every result has a positive denominator. -/
theorem allWF_zipWithL {α β : Type} {f : α → β → Q} (hf : ∀ a b, (f a b).WF) :
    (as : List α) → (bs : List β) → AllWF (zipWithL f as bs)
  | [], _ => fun _ hq => nomatch hq
  | _ :: _, [] => fun _ hq => nomatch hq
  | a :: as, b :: bs => fun q hq => by
    cases hq with
    | head => exact hf a b
    | tail _ hq' => exact allWF_zipWithL hf as bs q hq'

/-- Running sums, reduced, have positive denominators. -/
theorem allWF_map_toQ : (l : List Acc) → AllWF (l.map Acc.toQ)
  | [] => fun _ hq => nomatch hq
  | a :: l => fun q hq => by
    cases hq with
    | head => exact Q.make_wf _ _ _
    | tail _ hq' => exact allWF_map_toQ l q hq'

/-! ### Sums of products -/

/-- Sums of products of rationals have positive denominators. -/
theorem vdot_den_pos : (c v : List Q) → AllWF c → AllWF v → 0 < (vdot c v).den := by
  intro c
  induction c with
  | nil => intro _ _ _; exact nat_succ_pos 0
  | cons a c ih =>
    intro v hc hv
    cases v with
    | nil => exact nat_succ_pos 0
    | cons b v =>
      exact nat_mul_pos (nat_mul_pos (allWF_head hc) (allWF_head hv))
        (ih v (allWF_tail hc) (allWF_tail hv))

/-- `dotAcc a b acc` has the value `acc + Σ a_i b_i` (a positive denominator in, one out). -/
theorem dotAcc_eqv : (a b : List Q) → AllWF a → AllWF b → (acc : Acc) → 0 < acc.den →
    0 < (dotAcc a b acc).den ∧ V.eqv (dotAcc a b acc).toV (V.add acc.toV (vdot a b))
  | [], _, _, _, _, hD => ⟨hD, V.add_zero_eqv _⟩
  | _ :: _, [], _, _, _, hD => ⟨hD, V.add_zero_eqv _⟩
  | x :: as, y :: bs, ha, hb, acc, hD => by
    have hx := allWF_head ha
    have hy := allWF_head hb
    have e := Acc.addMul_eqv acc x y hD hx hy
    have ih := dotAcc_eqv as bs (allWF_tail ha) (allWF_tail hb) (acc.addMul x y) e.1
    have hs : V.eqv (V.add (acc.addMul x y).toV (vdot as bs))
        (V.add (V.add acc.toV (V.mul x.toV y.toV)) (vdot as bs)) :=
      V.add_congr (V.eqv_trans e.2 (V.add_congr (V.eqv_refl _)
        (V.signed_mul_eqv x.neg y.neg x.num y.num x.den y.den)) (nat_mul_pos hD (nat_mul_pos hx hy)))
        (V.eqv_refl _)
    rw [V.add_assoc_eq] at hs
    unfold dotAcc
    rw [Acc.strict_eq]
    exact ⟨ih.1, V.eqv_trans ih.2 hs
      (nat_mul_pos e.1 (vdot_den_pos as bs (allWF_tail ha) (allWF_tail hb)))⟩

/-- `dot a b init` has the value `init + Σ a_i b_i`. -/
theorem dot_eqv (a b : List Q) (init : Q) (ha : AllWF a) (hb : AllWF b) (hi : init.WF) :
    V.eqv (dot a b init).toV (V.add init.toV (vdot a b)) := by
  have r := dotAcc_eqv a b ha hb (Acc.ofQ init) hi
  exact V.eqv_trans (Q.make_eqv _ _ _ r.1) r.2 r.1

/-- The order of the factors does not matter. -/
theorem vdot_comm (a b : List Q) : V.eqv (vdot a b) (vdot b a) := by
  induction a generalizing b with
  | nil => cases b <;> exact V.eqv_refl _
  | cons x as ih =>
    cases b with
    | nil => exact V.eqv_refl _
    | cons y bs => exact V.add_congr (V.eqv_of_eq (V.mul_comm_eq _ _)) (ih bs)

/-- `vdot_add`, by recursion on the lists. -/
theorem vdot_add_aux : (c x p : List Q) → AllWF c → AllWF x → AllWF p → x.length = p.length →
    V.eqv (vdot c (zipWithL Q.add x p)) (V.add (vdot c x) (vdot c p))
  | [], _, _, _, _, _, _ => V.eqv_refl V.zero
  | _ :: _, [], [], _, _, _, _ => V.eqv_refl V.zero
  | _ :: _, [], _ :: _, _, _, _, hl => absurd hl (length_nil_ne_cons (α := Q))
  | _ :: _, _ :: _, [], _, _, _, hl => absurd hl.symm (length_nil_ne_cons (α := Q))
  | a :: cs, x :: xs, p :: ps, hc, hx, hp, hl => by
    have ha := allWF_head hc
    have hx1 := allWF_head hx
    have hp1 := allWF_head hp
    have ih := vdot_add_aux cs xs ps (allWF_tail hc) (allWF_tail hx) (allWF_tail hp) (nat_succ_inj' hl)
    have e1 : V.eqv (V.mul a.toV (Q.add x p).toV) (V.add (V.mul a.toV x.toV) (V.mul a.toV p.toV)) :=
      V.eqv_trans (V.mul_congr_right a.toV (Q.add_eqv hx1 hp1)) (V.mul_add_eqv _ _ _)
        (nat_mul_pos ha (nat_mul_pos hx1 hp1))
    have e2 := V.add_congr e1 ih
    rw [V.add_add_add_comm_eq (V.mul a.toV x.toV)] at e2
    exact e2

/-- A sum of two lists, term by term (lists of one length). -/
theorem vdot_add (c x p : List Q) (hc : AllWF c) (hx : AllWF x) (hp : AllWF p)
    (hl : x.length = p.length) :
    V.eqv (vdot c (zipWithL Q.add x p)) (V.add (vdot c x) (vdot c p)) := by
  exact vdot_add_aux c x p hc hx hp hl

/-- A difference, term by term, is a sum with the negations. -/
theorem zipWithL_sub_eq : (x p : List Q) → zipWithL Q.sub x p = zipWithL Q.add x (p.map Q.neg')
  | [], _ => rfl
  | _ :: _, [] => rfl
  | a :: x, b :: p => congrArg (List.cons (Q.sub a b)) (zipWithL_sub_eq x p)

/-- Negated values negate the sum (no positivity needed). -/
theorem vdot_map_neg_right : (c p : List Q) → V.eqv (vdot c (p.map Q.neg')) (V.opp (vdot c p))
  | [], _ => V.eqv_refl V.zero
  | _ :: _, [] => V.eqv_refl V.zero
  | a :: c, b :: p => V.add_congr (V.mul_congr_right a.toV (Q.neg_eqv b)) (vdot_map_neg_right c p)

/-- A difference of two lists, term by term (lists of one length). -/
theorem vdot_sub (c x p : List Q) (hc : AllWF c) (hx : AllWF x) (hp : AllWF p)
    (hl : x.length = p.length) :
    V.eqv (vdot c (zipWithL Q.sub x p)) (V.add (vdot c x) (V.opp (vdot c p))) := by
  rw [zipWithL_sub_eq]
  have hp' : AllWF (p.map Q.neg') := allWF_map (fun _ h => Q.neg_wf h) p hp
  have h1 := vdot_add c x (p.map Q.neg') hc hx hp' (hl.trans (length_map' Q.neg' p).symm)
  exact V.eqv_trans h1 (V.add_congr (V.eqv_refl _) (vdot_map_neg_right c p))
    (nat_mul_pos (vdot_den_pos c x hc hx) (vdot_den_pos _ _ hc hp'))

/-- Negated coefficients negate the sum. -/
theorem vdot_neg (c x : List Q) (hc : AllWF c) (hx : AllWF x) :
    V.eqv (vdot (c.map Q.neg') x) (V.opp (vdot c x)) := by
  induction c generalizing x with
  | nil => exact V.eqv_refl V.zero
  | cons a c ih =>
    cases x with
    | nil => exact V.eqv_refl V.zero
    | cons y x =>
      exact V.add_congr
        (V.eqv_trans (V.mul_congr_left y.toV (Q.neg_eqv a)) (V.mul_opp_left_eqv a.toV y.toV)
          (nat_mul_pos (allWF_head hc) (allWF_head hx)))
        (ih x (allWF_tail hc) (allWF_tail hx))

/-- The columns of `Σ_o c_o row_o`, accumulated row by row into one running sum per column. -/
def colAcc : List Q → List (List Q) → List Acc → List Acc
  | c :: cs, r :: rs, accs => cond (Nat.beq c.num (nat_lit 0)) (colAcc cs rs accs) (colAcc cs rs (zipWithL (fun a w => a.addMul w c) accs r))
  | _, _, accs => accs

/-- `Σ_o c_o row_o` over rows of `n` elements: the coefficients of a linear function of the
value `zipWithL (fun row b => dot x row b) rows bs` as one of `x` (`linear_exchange`). -/
def colComb (c : List Q) (rows : List (List Q)) (n : Nat) : List Q :=
  (colAcc c rows (List.replicate n (Acc.ofQ Q.zero))).map Acc.toQ

/-- Every combination is made of rationals. -/
theorem colComb_wf (c : List Q) (rows : List (List Q)) (n : Nat) : AllWF (colComb c rows n) := by
  exact allWF_map_toQ _

/-! ### The exchange of sums, on values

`colV` is `colAcc` on values, without reductions (each column `v_i + w_i c_o`); `vdotV` is `vdot`
with value coefficients. `AccRel` relates each running sum of `colAcc` to its twin. -/

/-- `Σ_i v_i x_i` with value coefficients. -/
def vdotV : List V → List Q → V
  | a :: as, x :: xs => V.add (V.mul a x.toV) (vdotV as xs)
  | _, _ => V.zero

/-- `colAcc` on values: each step adds `w_i * c_o` to column `i`. -/
def colV : List Q → List (List Q) → List V → List V
  | c :: cs, r :: rs, vs => colV cs rs (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r)
  | _, _, vs => vs

/-- Every value of the list has a positive denominator. -/
def DensPos : List V → Prop
  | [] => True
  | v :: vs => 0 < v.den ∧ DensPos vs

/-- A running sum and its twin value: positive denominators, one value. -/
def AccRel (acc : Acc) (v : V) : Prop := 0 < acc.den ∧ 0 < v.den ∧ V.eqv acc.toV v

/-- `vdotV` has a positive denominator. -/
theorem vdotV_den_pos : (vs : List V) → (x : List Q) → DensPos vs → AllWF x → 0 < (vdotV vs x).den
  | [], _, _, _ => nat_succ_pos 0
  | _ :: _, [], _, _ => nat_succ_pos 0
  | _ :: vs, _ :: xs, hv, hx =>
    nat_mul_pos (nat_mul_pos hv.1 (allWF_head hx)) (vdotV_den_pos vs xs hv.2 (allWF_tail hx))

/-- One step of `colV` keeps positive denominators. -/
theorem densPos_step (c : Q) (hc : c.WF) : (vs : List V) → (r : List Q) → DensPos vs → AllWF r →
    DensPos (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r)
  | [], _, _, _ => trivial
  | _ :: _, [], _, _ => trivial
  | _ :: vs, _ :: r, hv, hr =>
    ⟨nat_mul_pos hv.1 (nat_mul_pos (allWF_head hr) hc), densPos_step c hc vs r hv.2 (allWF_tail hr)⟩

/-- Related lists: the values have positive denominators. -/
theorem densPos_of_accRel : {accs : List Acc} → {vs : List V} → All2 AccRel accs vs → DensPos vs
  | _, _, .nil => trivial
  | _, _, .cons e r => ⟨e.2.1, densPos_of_accRel r⟩

/-- One step of `colAcc` and of `colV` keeps running sums and twins related (`Acc.add_eqv`). -/
theorem accRel_step (c : Q) (hc : c.WF) : {accs : List Acc} → {vs : List V} → All2 AccRel accs vs →
    (r : List Q) → AllWF r →
    All2 AccRel (zipWithL (fun a w => a.addMul w c) accs r)
      (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r)
  | _, _, .nil, _, _ => All2.nil
  | _, _, .cons _ _, [], _ => All2.nil
  | acc :: _, v :: _, .cons e rest, w :: r, hr => by
    have hw := allWF_head hr
    have s := Acc.addMul_eqv acc w c e.1 hw hc
    exact All2.cons ⟨s.1, nat_mul_pos e.2.1 (nat_mul_pos hw hc),
      V.eqv_trans s.2 (V.add_congr e.2.2 (V.signed_mul_eqv w.neg c.neg w.num c.num w.den c.den))
        (nat_mul_pos e.1 (nat_mul_pos hw hc))⟩
      (accRel_step c hc rest r (allWF_tail hr))

/-- A value plus a value of numerator zero keeps its value. -/
theorem V.eqv_add_zero_num (a b : V) (hp : b.pos = 0) (hn : b.neg = 0) : V.eqv a (V.add a b) := by
  unfold V.eqv V.add
  rw [hp, hn]
  simp only [nat_zero_mul, nat_mul_zero, nat_add_zero, nat_mul_assoc, nat_mul_comm, nat_mul_left_comm]

/-- A step of `colV` by a coefficient of numerator zero keeps running sums and twins related
(`colAcc` skips that row). -/
theorem accRel_skip (c : Q) (hc : c.WF) (h0 : c.num = 0) : {accs : List Acc} → {vs : List V} →
    All2 AccRel accs vs → (r : List Q) → AllWF r → vs.length = r.length →
    All2 AccRel accs (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r)
  | _, _, .nil, _, _, _ => All2.nil
  | _, _ :: _, .cons _ _, [], _, hl => absurd hl.symm (length_nil_ne_cons (α := V))
  | acc :: _, v :: _, .cons e rest, w :: r, hr, hl => by
    have hw := allWF_head hr
    have hz : V.eqv v (V.add v (V.mul w.toV c.toV)) := by
      apply V.eqv_add_zero_num
      · unfold V.mul Q.toV V.signed; rw [h0]; cases c.neg <;> cases w.neg <;> rfl
      · unfold V.mul Q.toV V.signed; rw [h0]; cases c.neg <;> cases w.neg <;> rfl
    exact All2.cons ⟨e.1, nat_mul_pos e.2.1 (nat_mul_pos hw hc), V.eqv_trans e.2.2 hz e.2.1⟩
      (accRel_skip c hc h0 rest r (allWF_tail hr) (nat_succ_inj' hl))

/-- `colAcc` and `colV` keep running sums and twins related. -/
theorem accRel_col : (c : List Q) → (rows : List (List Q)) → (accs : List Acc) → (vs : List V) →
    AllWF c → (∀ r, r ∈ rows → AllWF r ∧ r.length = vs.length) → All2 AccRel accs vs →
    All2 AccRel (colAcc c rows accs) (colV c rows vs)
  | [], _, _, _, _, _, h => h
  | _ :: _, [], _, _, _, _, h => h
  | a :: cs, r :: rs, accs, vs, hc, hr, h => by
    have hr0 := hr r (List.Mem.head rs)
    have hl : (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r).length = vs.length :=
      length_zipWithL _ vs r hr0.2.symm
    have hr' : ∀ r', r' ∈ rs → AllWF r' ∧
        r'.length = (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r).length :=
      fun r' h' => ⟨(hr r' (List.Mem.tail r h')).1, (hr r' (List.Mem.tail r h')).2.trans hl.symm⟩
    show All2 AccRel (cond (Nat.beq a.num (nat_lit 0)) (colAcc cs rs accs)
      (colAcc cs rs (zipWithL (fun acc w => acc.addMul w a) accs r)))
      (colV cs rs (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r))
    cases hz : Nat.beq a.num (nat_lit 0) with
    | true =>
      exact accRel_col cs rs _ _ (allWF_tail hc) hr'
        (accRel_skip a (allWF_head hc) (nat_eq_of_beq_eq_true hz) h r hr0.1 hr0.2.symm)
    | false =>
      exact accRel_col cs rs _ _ (allWF_tail hc) hr'
        (accRel_step a (allWF_head hc) h r hr0.1)

/-- The reduced running sums have the values of their twins. -/
theorem vdot_map_toQ : {accs : List Acc} → {vs : List V} → All2 AccRel accs vs → (x : List Q) →
    V.eqv (vdot (accs.map Acc.toQ) x) (vdotV vs x)
  | _, _, .nil, _ => V.eqv_refl V.zero
  | _, _, .cons _ _, [] => V.eqv_refl V.zero
  | _, _, .cons e rest, y :: x =>
    V.add_congr (V.mul_congr_left y.toV (V.eqv_trans (Q.make_eqv _ _ _ e.1) e.2.2 e.1))
      (vdot_map_toQ rest x)

/-- Zero coefficients give a zero numerator. -/
theorem vdotV_replicate_zero : (n : Nat) → (x : List Q) →
    (vdotV (List.replicate n V.zero) x).pos = 0 ∧ (vdotV (List.replicate n V.zero) x).neg = 0
  | 0, _ => ⟨rfl, rfl⟩
  | _ + 1, [] => ⟨rfl, rfl⟩
  | n + 1, y :: x => by
    have ih := vdotV_replicate_zero n x
    show (V.add (V.mul V.zero y.toV) (vdotV (List.replicate n V.zero) x)).pos = 0 ∧
      (V.add (V.mul V.zero y.toV) (vdotV (List.replicate n V.zero) x)).neg = 0
    generalize vdotV (List.replicate n V.zero) x = t at ih ⊢
    unfold V.add V.mul V.zero
    constructor <;> simp only [ih.1, ih.2, nat_zero_mul, nat_add_zero, nat_zero_add, nat_mul_zero]

/-- The algebra of one step of `vdotV_step`. -/
theorem vdotV_step_alg {v wv C X Ar S Rest : V} (ih : V.eqv Rest (V.add Ar (V.mul C S)))
    (hv : 0 < v.den) (hw : 0 < wv.den) (hC : 0 < C.den) (hX : 0 < X.den) (hA : 0 < Ar.den)
    (hS : 0 < S.den) :
    V.eqv (V.add (V.mul (V.add v (V.mul wv C)) X) Rest)
      (V.add (V.add (V.mul v X) Ar) (V.mul C (V.add (V.mul X wv) S))) := by
  have e := V.add_congr (V.add_mul_eqv v (V.mul wv C) X) ih
  rw [V.add_add_add_comm_eq (V.mul v X) (V.mul (V.mul wv C) X) Ar (V.mul C S)] at e
  have e' : V.eqv (V.add (V.mul (V.mul wv C) X) (V.mul C S)) (V.mul C (V.add (V.mul X wv) S)) :=
    V.eqv_trans (V.add_congr (V.eqv_of_eq (V.mul_mul_eq wv C X)) (V.eqv_refl _))
      (V.eqv_symm' (V.mul_add_eqv C (V.mul X wv) S))
      (nat_mul_pos (nat_mul_pos hC (nat_mul_pos hX hw)) (nat_mul_pos hC hS))
  exact V.eqv_trans e (V.add_congr (V.eqv_refl _) e')
    (nat_mul_pos (nat_mul_pos (nat_mul_pos hv hX) hA)
      (nat_mul_pos (nat_mul_pos (nat_mul_pos hw hC) hX) (nat_mul_pos hC hS)))

/-- One step of `colV`, summed against `x`: the new columns `v_i + w_i c` give
`Σ_i v_i x_i + c Σ_i x_i w_i`. -/
theorem vdotV_step (c : Q) (hc : c.WF) : (vs : List V) → (r x : List Q) → DensPos vs → AllWF r →
    AllWF x → vs.length = r.length →
    V.eqv (vdotV (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r) x)
      (V.add (vdotV vs x) (V.mul c.toV (vdot x r)))
  | [], [], [], _, _, _, _ => V.zero_eqv_add_zero_mul c.toV
  | [], [], _ :: _, _, _, _, _ => V.zero_eqv_add_zero_mul c.toV
  | [], _ :: _, _, _, _, _, hl => absurd hl (length_nil_ne_cons (α := V))
  | _ :: _, [], _, _, _, _, hl => absurd hl.symm (length_nil_ne_cons (α := Q))
  | _ :: _, _ :: _, [], _, _, _, _ => V.zero_eqv_add_zero_mul c.toV
  | _ :: vs, _ :: r, _ :: x, hv, hr, hx, hl =>
    vdotV_step_alg (vdotV_step c hc vs r x hv.2 (allWF_tail hr) (allWF_tail hx) (nat_succ_inj' hl))
      hv.1 (allWF_head hr) hc (allWF_head hx) (vdotV_den_pos vs x hv.2 (allWF_tail hx))
      (vdot_den_pos x r (allWF_tail hx) (allWF_tail hr))

/-- The algebra of one step of `exchange_aux`. -/
theorem exchange_alg {A A' R B F m0 Pm Dm : V} (hD : V.eqv Dm (V.add m0 Pm))
    (hA' : V.eqv A' (V.add A Pm)) (ih : V.eqv (V.add A' R) (V.add B F)) (hA : 0 < A.den)
    (hA'p : 0 < A'.den) (hR : 0 < R.den) (hm : 0 < m0.den) (hP : 0 < Pm.den) :
    V.eqv (V.add A (V.add Dm R)) (V.add (V.add m0 B) F) := by
  have e1 : V.eqv (V.add A (V.add Dm R)) (V.add A (V.add (V.add m0 Pm) R)) :=
    V.add_congr (V.eqv_refl _) (V.add_congr hD (V.eqv_refl _))
  rw [V.add_assoc_eq m0 Pm R, V.add_left_comm_eq A m0 (V.add Pm R), ← V.add_assoc_eq A Pm R] at e1
  have e3 : V.eqv (V.add (V.add A Pm) R) (V.add B F) :=
    V.eqv_trans (V.add_congr (V.eqv_symm' hA') (V.eqv_refl R)) ih (nat_mul_pos hA'p hR)
  rw [V.add_assoc_eq]
  exact V.eqv_trans e1 (V.add_congr (V.eqv_refl m0) e3)
    (nat_mul_pos hm (nat_mul_pos (nat_mul_pos hA hP) hR))

/-- `linear_exchange` from any twin columns `vs` (as long as `x`):
`Σ_i v_i x_i + Σ_o c_o y_o = Σ_o c_o b_o + Σ_i (v_i + Σ_o c_o row_oi) x_i`. -/
theorem exchange_aux (x : List Q) (hx : AllWF x) : (c : List Q) → (rows : List (List Q)) →
    (bs : List Q) → (vs : List V) → (∀ r, r ∈ rows → AllWF r ∧ r.length = x.length) →
    AllWF bs → AllWF c → rows.length = bs.length → bs.length = c.length → DensPos vs →
    vs.length = x.length →
    V.eqv (V.add (vdotV vs x) (vdot c (zipWithL (fun row b => dot x row b) rows bs)))
      (V.add (vdot c bs) (vdotV (colV c rows vs) x))
  | [], _, _, vs, _, _, _, _, _, _, _ => V.eqv_of_eq (V.add_comm_eq (vdotV vs x) V.zero)
  | _ :: _, [], _, _, _, _, _, hl1, hl2, _, _ => absurd (hl1.trans hl2) (length_nil_ne_cons (α := List Q))
  | _ :: _, _ :: _, [], _, _, _, _, _, hl2, _, _ => absurd hl2 (length_nil_ne_cons (α := Q))
  | a :: cs, r :: rs, b :: bs, vs, hrows, hbs, hc, hl1, hl2, hv, hvl => by
    have hr := hrows r (List.Mem.head rs)
    have ha := allWF_head hc
    have hb := allWF_head hbs
    have hvr : vs.length = r.length := hvl.trans hr.2.symm
    have hv' := densPos_step a ha vs r hv hr.1
    have hvl' := (length_zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r hvr).trans hvl
    have ih := exchange_aux x hx cs rs bs _ (fun r' h' => hrows r' (List.Mem.tail r h'))
      (allWF_tail hbs) (allWF_tail hc) (nat_succ_inj' hl1) (nat_succ_inj' hl2) hv' hvl'
    have hA' := vdotV_step a ha vs r x hv hr.1 hx hvr
    have hP := vdot_den_pos x r hx hr.1
    have hD : V.eqv (V.mul a.toV (dot x r b).toV)
        (V.add (V.mul a.toV b.toV) (V.mul a.toV (vdot x r))) :=
      V.eqv_trans (V.mul_congr_right _ (dot_eqv x r b hx hr.1 hb)) (V.mul_add_eqv _ _ _)
        (nat_mul_pos ha (nat_mul_pos hb hP))
    exact exchange_alg hD hA' ih (vdotV_den_pos vs x hv hx) (vdotV_den_pos _ x hv' hx)
      (vdot_den_pos cs _ (allWF_tail hc) (allWF_zipWithL (fun row b => dot_wf x row b) rs bs))
      (nat_mul_pos ha hb) (nat_mul_pos ha hP)

/-- The exchange of the two sums of a matrix product: with `y_o = b_o + Σ_i x_i row_oi`,
`Σ_o c_o y_o = Σ_o c_o b_o + Σ_i (Σ_o c_o row_oi) x_i` (one coefficient per row and bias; every
row as long as `x`). -/
theorem linear_exchange (x : List Q) (rows : List (List Q)) (bs c : List Q) (hx : AllWF x)
    (hrows : ∀ r, r ∈ rows → AllWF r ∧ r.length = x.length) (hbs : AllWF bs) (hc : AllWF c)
    (hl1 : rows.length = bs.length) (hl2 : bs.length = c.length) :
    V.eqv (vdot c (zipWithL (fun row b => dot x row b) rows bs))
      (V.add (vdot c bs) (vdot (colComb c rows x.length) x)) := by
  have h0 : All2 AccRel (List.replicate x.length (Acc.ofQ Q.zero)) (List.replicate x.length V.zero) :=
    all2_replicate ⟨nat_succ_pos 0, nat_succ_pos 0, V.eqv_of_eq rfl⟩ x.length
  have hcol := accRel_col c rows _ _ hc
    (fun r h => ⟨(hrows r h).1, (hrows r h).2.trans (length_replicate' V.zero x.length).symm⟩) h0
  have main := exchange_aux x hx c rows bs _ hrows hbs hc hl1 hl2 (densPos_of_accRel h0)
    (length_replicate' V.zero x.length)
  have hz := vdotV_replicate_zero x.length x
  have hZ := vdotV_den_pos _ x (densPos_of_accRel h0) hx
  have hL := vdot_den_pos c _ hc (allWF_zipWithL (fun row b => dot_wf x row b) rows bs)
  have hF := vdotV_den_pos _ x (densPos_of_accRel hcol) hx
  exact V.eqv_trans (V.eqv_trans (V.add_zero_left_eqv _ hz.1 hz.2) main (nat_mul_pos hZ hL))
    (V.add_congr (V.eqv_refl _) (V.eqv_symm' (vdot_map_toQ hcol x)))
    (nat_mul_pos (vdot_den_pos c bs hc hbs) hF)

end Pytorch2Lean
