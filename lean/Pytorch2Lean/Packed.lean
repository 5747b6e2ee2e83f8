/-
Packed combinations of matrix rows: the back-substitution step through `linear` and `matmul`,
from a few operations on big naturals per row.

`colComb` (`Linear.lean`) costs the kernel one `Acc.addMul` (some thirty reduction steps) per
coefficient and weight. `colCombF` gets the same values with GMP: every row's entries are written
over one common denominator `S` as the digits of one natural in base `B` (`packNat`: the positive
parts in one natural, the negative parts in another; `packRows`, which the kernel evaluates once
per matrix and declaration, and caches), each coefficient over the coefficients' common
denominator `D`; then `Σ_o n_o R_o` has as digit `i` the sum `Σ_o n_o d_oi` (Kronecker
substitution), and the digits are read back by checked division (`unpack2`: `a + B p = P` and
`a < B`, so no theory of `Nat.div` is needed, only that such a split is unique,
`nat_digit_unique`), provided no digit sum reaches `B` (checked: the coefficients' magnitudes
sum to `T`, and `T * maxd < B`). Where a check fails (a denominator that does not divide the
common one, a sum too large) `colComb` itself is used. `colCombF_vdot`: summed against any `x`,
`colCombF` has `colComb`'s value; so the checker's verdicts are those of the plain definition,
and the Python twin is unchanged.
-/
import Pytorch2Lean.Linear
import Pytorch2Lean.CheckIBP

namespace Pytorch2Lean

set_option linter.unusedSimpArgs false

/-- `Σ_i d_i B^i`: the list of naturals as the digits of one natural in base `B`. -/
def packNat (B : Nat) : List Nat → Nat
  | [] => nat_lit 0
  | d :: ds => Nat.add d (Nat.mul B (packNat B ds))

/-- The magnitude of `w` over the denominator `S` where `w`'s sign is `side` (`false`: the
positive part), else zero. -/
def sideDigit (S : Nat) (side : Bool) (w : Q) : Nat :=
  cond (sameSign w.neg side) (Nat.mul w.num (Nat.div S w.den)) (nat_lit 0)

/-- A row's digits on one side, packed. -/
def packSide (B S : Nat) (side : Bool) (r : List Q) : Nat := packNat B (r.map (sideDigit S side))

/-- The largest of `m` and `f w` over the list. -/
def maxOf (f : Q → Nat) : List Q → Nat → Nat
  | [], m => m
  | w :: ws, m => natFresh (cond (Nat.ble m (f w)) (f w) m) (maxOf f ws)

/-- `w`'s denominator divides `S` and its magnitude over `S` is at most `maxd`. -/
def entryOk (S maxd : Nat) (w : Q) : Bool :=
  Nat.beq (Nat.mul w.den (Nat.div S w.den)) S && Nat.ble (Nat.mul w.num (Nat.div S w.den)) maxd

/-- A matrix written for packed combinations. -/
structure Packed where
  /-- The base of the digits. -/
  B : Nat
  /-- The common denominator of the entries. -/
  S : Nat
  /-- A bound on every digit. -/
  maxd : Nat
  /-- Each row's positive parts, packed. -/
  pos : List Nat
  /-- Each row's negative parts, packed. -/
  neg : List Nat
  /-- Every entry fits `S` and `maxd` (`entryOk`). -/
  ok : Bool

/-- The rows packed in base `B` over the denominator `S`, with digits checked to be at most
`maxd`. -/
def packWith (B S maxd : Nat) (rows : List (List Q)) : Packed :=
  ⟨B, S, maxd, rows.map (packSide B S false), rows.map (packSide B S true),
    rows.all (fun r => r.all (entryOk S maxd))⟩

/-- A base for digits up to `maxd` that leaves 512 bits of room for the sums of digits times
coefficients. -/
def packBase (maxd : Nat) : Nat := Nat.shiftLeft (Nat.add maxd (nat_lit 1)) (nat_lit 512)

/-- The rows packed: `S` the largest denominator, `maxd` the largest digit. -/
def packRows (rows : List (List Q)) : Packed :=
  let S := maxOf Q.den (concatMap id rows) (nat_lit 1)
  let maxd := maxOf (fun w => Nat.mul w.num (Nat.div S w.den)) (concatMap id rows) (nat_lit 0)
  packWith (packBase maxd) S maxd rows

/-- One packed natural per row: a back step reads the row count off the packed form, already
evaluated for a prepared weight, instead of building the rows (`prepRows` transposes a `matmul`
weight) to count them. -/
theorem packRows_pos_length (rows : List (List Q)) : (packRows rows).pos.length = rows.length :=
  length_map' _ rows

/-- A packed matrix from its rows' digits (positive parts, negative parts) over `S`, in base
`packBase maxd`: how an export writes a prepared weight (`Prep`), which `prepCheck` compares with
`packRows`. -/
def Packed.ofDigits (maxd S : Nat) (pos neg : List (List Nat)) : Packed :=
  ⟨packBase maxd, S, maxd, pos.map (packNat (packBase maxd)), neg.map (packNat (packBase maxd)), true⟩

/-- `(P + Σ_o n_o R_o, N + Σ_o n_o R'_o, T + Σ_o n_o)` with `n_o` the coefficient's magnitude over
`D` and `R_o`, `R'_o` the row's packed parts on its side and the other; zero coefficients are
skipped, a denominator that does not divide `D` gives `none`. -/
def packSums (D : Nat) : List Q → List Nat → List Nat → Nat → Nat → Nat → Option (Nat × Nat × Nat)
  | c :: cs, p :: ps, q :: qs, P, N, T =>
    cond (Nat.beq c.num (nat_lit 0)) (packSums D cs ps qs P N T)
      (cond (Nat.beq (Nat.mul c.den (Nat.div D c.den)) D)
        (natFresh (Nat.mul c.num (Nat.div D c.den)) fun n =>
          cond c.neg (packSums D cs ps qs (Nat.add P (Nat.mul n q)) (Nat.add N (Nat.mul n p)) (Nat.add T n))
            (packSums D cs ps qs (Nat.add P (Nat.mul n p)) (Nat.add N (Nat.mul n q)) (Nat.add T n)))
        none)
  | _, _, _, P, N, T => some (P, N, T)

/-- `(a - b) / d` as a rational. -/
def diffQ (a b d : Nat) : Q :=
  cond (Nat.ble b a) (Q.make false (Nat.sub a b) d) (Q.make true (Nat.sub b a) d)

/-- The first `n` digits of `P` and `N` in base `B`, each digit checked (`a + B p = P`, `a < B`),
as the rationals `(a - b) / d`. -/
def unpack2 (B d : Nat) : Nat → Nat → Nat → Option (List Q)
  | 0, _, _ => some []
  | n + 1, P, N =>
    natFresh (Nat.div P B) fun p => natFresh (Nat.div N B) fun q =>
    natFresh (Nat.sub P (Nat.mul B p)) fun a => natFresh (Nat.sub N (Nat.mul B q)) fun b =>
    cond (Nat.ble (Nat.add a 1) B && Nat.ble (Nat.add b 1) B && Nat.beq (Nat.add a (Nat.mul B p)) P &&
        Nat.beq (Nat.add b (Nat.mul B q)) N)
      ((unpack2 B d n p q).map (fun l => diffQ a b d :: l)) none

/-- `Σ_o c_o row_o` (`n` columns) from the packed rows, or `none` where a check fails. -/
def colCombP (c : List Q) (pk : Packed) (n : Nat) : Option (List Q) :=
  let D := maxOf Q.den c (nat_lit 1)
  guard (pk.ok && Nat.ble 1 (Nat.mul D pk.S))
    (obind (packSums D c pk.pos pk.neg 0 0 0) fun r =>
      guard (Nat.ble (Nat.add (Nat.mul r.2.2 pk.maxd) 1) pk.B) (unpack2 pk.B (Nat.mul D pk.S) n r.1 r.2.1))

/-- `colComb` from the rows packed as `pk`, where it can be. -/
def colCombWith (pk : Packed) (c : List Q) (rows : List (List Q)) (n : Nat) : List Q :=
  (colCombP c pk n).getD (colComb c rows n)

/-- `colComb` as the checker evaluates it: packed where it can be (`colCombF_vdot`: the same
values). -/
def colCombF (c : List Q) (rows : List (List Q)) (n : Nat) : List Q := colCombWith (packRows rows) c rows n

/-! #### Digits -/

/-- A natural has one digit and one rest in base `B`. -/
theorem nat_digit_unique {B a d p r : Nat} (ha : a < B) (hd : d < B) (h : a + B * p = d + B * r) :
    a = d ∧ p = r := by
  have key : ∀ {a d p r : Nat}, a < B → a + B * p = d + B * r → p < r → False := by
    intro a d p r ha h hpr
    have h1 : B * (p + 1) ≤ B * r := nat_mul_le_mul_left B hpr
    simp only [nat_left_distrib, nat_mul_one] at h1
    have h2 : B * p + a < B * p + B := nat_add_le_add (nat_le_refl (B * p)) ha
    have h3 : B * p + B ≤ d + B * r := nat_le_trans h1 (nat_le_add_left (B * r) d)
    have h4 : a + B * p < d + B * r := by
      rw [nat_add_comm a]
      exact nat_lt_of_lt_of_le h2 h3
    rw [h] at h4
    exact nat_lt_irrefl _ h4
  cases nat_lt_or_ge p r with
  | inl hlt => exact (key ha h hlt).elim
  | inr hge =>
    cases nat_eq_or_lt_of_le hge with
    | inl e =>
      subst e
      exact ⟨nat_le_antisymm (nat_le_of_add_le_add_right (nat_le_of_eq h))
        (nat_le_of_add_le_add_right (nat_le_of_eq h.symm)), rfl⟩
    | inr hlt => exact (key hd h.symm hlt).elim

/-- Zero digits make zero. -/
theorem packNat_replicate_zero (B : Nat) : (n : Nat) → packNat B (List.replicate n 0) = 0
  | 0 => rfl
  | n + 1 => by
    show 0 + B * packNat B (List.replicate n 0) = 0
    rw [packNat_replicate_zero B n]
    simp only [nat_mul_zero, nat_add_zero]

/-- Digit lists added with a factor pack to the packed sums added with that factor. -/
theorem packNat_addMul (B n : Nat) : (L M : List Nat) → L.length = M.length →
    packNat B (zipWithL (fun a b => a + n * b) L M) = packNat B L + n * packNat B M
  | [], [], _ => by
    show 0 = 0 + n * 0
    simp only [nat_mul_zero, nat_add_zero]
  | [], _ :: _, h => absurd h (length_nil_ne_cons (α := Nat))
  | _ :: _, [], h => absurd h.symm (length_nil_ne_cons (α := Nat))
  | a :: L, b :: M, h => by
    show (a + n * b) + B * packNat B (zipWithL (fun a b => a + n * b) L M) =
      (a + B * packNat B L) + n * (b + B * packNat B M)
    rw [packNat_addMul B n L M (nat_succ_inj' h)]
    simp only [nat_left_distrib, nat_right_distrib]
    simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
    simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- `unpack2` reads back digits below `B`. -/
theorem unpack2_sound (B d : Nat) : (n : Nat) → (LP LN : List Nat) → LP.length = n → LN.length = n →
    (∀ a, a ∈ LP → a < B) → (∀ b, b ∈ LN → b < B) → (l : List Q) →
    unpack2 B d n (packNat B LP) (packNat B LN) = some l → l = zipWithL (fun a b => diffQ a b d) LP LN
  | 0, [], [], _, _, _, _, l, h => by
    have h' : some [] = some l := h
    injection h' with e
    subst e
    rfl
  | 0, _ :: _, _, hp, _, _, _, _, _ => Nat.noConfusion hp
  | 0, [], _ :: _, _, hn, _, _, _, _ => Nat.noConfusion hn
  | _ + 1, [], _, hp, _, _, _, _, _ => Nat.noConfusion hp
  | _ + 1, _ :: _, [], _, hn, _, _, _, _ => Nat.noConfusion hn
  | n + 1, a0 :: LP, b0 :: LN, hp, hn, hbp, hbn, l, h => by
    unfold unpack2 at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    generalize Nat.div (packNat B (a0 :: LP)) B = p at h
    generalize Nat.div (packNat B (b0 :: LN)) B = q at h
    generalize Nat.sub (packNat B (a0 :: LP)) (Nat.mul B p) = a at h
    generalize Nat.sub (packNat B (b0 :: LN)) (Nat.mul B q) = b at h
    cases hc : (Nat.ble (Nat.add a 1) B && Nat.ble (Nat.add b 1) B &&
        Nat.beq (Nat.add a (Nat.mul B p)) (packNat B (a0 :: LP)) &&
        Nat.beq (Nat.add b (Nat.mul B q)) (packNat B (b0 :: LN))) with
    | false =>
      rw [hc] at h
      exact (none_ne_some h).elim
    | true =>
      rw [hc] at h
      have c1 := and_true_split hc
      have c2 := and_true_split c1.1
      have c3 := and_true_split c2.1
      have ea : a + B * p = a0 + B * packNat B LP := nat_eq_of_beq_eq_true c2.2
      have eb : b + B * q = b0 + B * packNat B LN := nat_eq_of_beq_eq_true c1.2
      have ua := nat_digit_unique (nat_le_of_ble_eq_true c3.1) (hbp a0 (List.Mem.head _)) ea
      have ub := nat_digit_unique (nat_le_of_ble_eq_true c3.2) (hbn b0 (List.Mem.head _)) eb
      obtain ⟨l', hl', e⟩ := option_map_some' h
      subst e
      rw [ua.2, ub.2] at hl'
      rw [ua.1, ub.1, unpack2_sound B d n LP LN (nat_succ_inj' hp) (nat_succ_inj' hn)
        (fun x hx => hbp x (List.Mem.tail _ hx)) (fun x hx => hbn x (List.Mem.tail _ hx)) l' hl']
      rfl

/-! #### Values -/

/-- An entry is its two digits over `S`, when its denominator divides `S`. -/
theorem sideDigit_eqv (S : Nat) (w : Q) (hS : w.den * (S / w.den) = S) :
    V.eqv w.toV ⟨sideDigit S false w, sideDigit S true w, S⟩ := by
  obtain ⟨neg, num, den⟩ := w
  have hS' : den * (S / den) = S := hS
  show V.eqv (V.signed neg num den) ⟨sideDigit S false ⟨neg, num, den⟩, sideDigit S true ⟨neg, num, den⟩, S⟩
  unfold sideDigit
  show V.eqv (V.signed neg num den) ⟨cond (sameSign neg false) (num * (S / den)) 0,
    cond (sameSign neg true) (num * (S / den)) 0, S⟩
  generalize S / den = k at hS'
  subst hS'
  cases neg <;> simp only [V.eqv, V.signed, sameSign, cond_true', cond_false',
    nat_zero_mul, nat_add_zero, nat_zero_add] <;>
    simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]

/-- A coefficient is its magnitude over `D`, when its denominator divides `D`. -/
theorem coeff_eqv (D : Nat) (c : Q) (hD : c.den * (D / c.den) = D) :
    V.eqv c.toV (V.signed c.neg (c.num * (D / c.den)) D) := by
  have e := V.signed_scale c.neg c.num c.den (D / c.den)
  rw [hD] at e
  exact e

/-- One term added to a twin value: `(p - q)/E + (d⁺ - d⁻)/S (n / D)` is
`(p + n d⁺ - (q + n d⁻)) / E` for a positive coefficient, sides swapped for a negative one. -/
theorem step_eqv {v w c : V} {p q dp dn n E S D : Nat} (s : Bool) (hv : V.eqv v ⟨p, q, E⟩)
    (hw : V.eqv w ⟨dp, dn, S⟩) (hc : V.eqv c (V.signed s n D)) (hE : E = D * S) (hS : 0 < S)
    (hD : 0 < D) (hcd : 0 < c.den) :
    V.eqv (V.add v (V.mul w c)) ⟨p + n * cond s dn dp, q + n * cond s dp dn, E⟩ := by
  have h1 : V.eqv (V.add v (V.mul w c)) (V.add ⟨p, q, E⟩ (V.mul ⟨dp, dn, S⟩ (V.signed s n D))) :=
    V.add_congr hv (V.eqv_trans (V.mul_congr_left c hw) (V.mul_congr_right _ hc) (nat_mul_pos hS hcd))
  refine V.eqv_trans h1 ?_ (nat_mul_pos (hE ▸ nat_mul_pos hD hS) (nat_mul_pos hS hD))
  subst hE
  cases s <;> simp only [V.eqv, V.add, V.mul, V.signed, cond_true', cond_false', nat_zero_mul,
    nat_mul_zero, nat_add_zero, nat_zero_add] <;>
    simp only [nat_left_distrib, nat_right_distrib] <;>
    simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] <;>
    simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- A digit is at most the entry's magnitude over `S`. -/
theorem sideDigit_le (S : Nat) (side : Bool) (w : Q) : sideDigit S side w ≤ w.num * (S / w.den) := by
  unfold sideDigit
  cases sameSign w.neg side with
  | true => exact nat_le_refl _
  | false => exact nat_zero_le _

/-- Twin values of packed sums: value `i` is `(p_i - q_i) / E`, with `p_i, q_i ≤ m`. -/
def Twins (E m : Nat) : List V → List Nat → List Nat → Prop
  | v :: vs, p :: ps, q :: qs => (0 < v.den ∧ V.eqv v ⟨p, q, E⟩ ∧ p ≤ m ∧ q ≤ m) ∧ Twins E m vs ps qs
  | [], [], [] => True
  | _, _, _ => False

/-- Twins are as long as their values. -/
theorem twins_length {E m : Nat} : (vs : List V) → (ps qs : List Nat) → Twins E m vs ps qs →
    ps.length = vs.length ∧ qs.length = vs.length
  | [], [], [], _ => ⟨rfl, rfl⟩
  | [], [], _ :: _, h => h.elim
  | [], _ :: _, _, h => h.elim
  | _ :: _, [], _, h => h.elim
  | _ :: _, _ :: _, [], h => h.elim
  | _ :: vs, _ :: ps, _ :: qs, h =>
    have r := twins_length vs ps qs h.2
    ⟨congrArg Nat.succ r.1, congrArg Nat.succ r.2⟩

/-- Zeros are the twins of zero sums. -/
theorem twins_zero {E : Nat} : (n : Nat) →
    Twins E 0 (List.replicate n V.zero) (List.replicate n 0) (List.replicate n 0)
  | 0 => trivial
  | n + 1 => ⟨⟨nat_succ_pos 0, by simp only [V.eqv, V.zero, nat_zero_mul], nat_le_refl 0, nat_le_refl 0⟩,
      twins_zero n⟩

/-- A row added with a coefficient of magnitude `n` over `D` and sign `s` (its twin: the row's
digits on side `s` added to the first sums, on the other side to the second). -/
theorem twins_step {E S D n maxd m : Nat} (s : Bool) {c : Q} (hc : V.eqv c.toV (V.signed s n D))
    (hcd : 0 < c.den) (hE : E = D * S) (hS : 0 < S) (hD : 0 < D) :
    (vs : List V) → (ps qs : List Nat) → (r : List Q) → Twins E m vs ps qs → r.length = vs.length →
    (∀ w, w ∈ r → w.WF ∧ entryOk S maxd w = true) →
    Twins E (m + n * maxd) (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r)
      (zipWithL (fun a b => a + n * b) ps (r.map (sideDigit S s)))
      (zipWithL (fun a b => a + n * b) qs (r.map (sideDigit S (!s))))
  | [], [], [], [], _, _, _ => trivial
  | [], _, _, _ :: _, _, hl, _ => absurd hl.symm (length_nil_ne_cons (α := V))
  | _ :: _, _, _, [], _, hl, _ => absurd hl (length_nil_ne_cons (α := Q))
  | [], [], _ :: _, _, h, _, _ => h.elim
  | [], _ :: _, _, _, h, _, _ => h.elim
  | _ :: _, [], _, _, h, _, _ => h.elim
  | _ :: _, _ :: _, [], _, h, _, _ => h.elim
  | v :: vs, p :: ps, q :: qs, w :: r, h, hl, hr => by
    obtain ⟨⟨hv0, hv, hp, hq⟩, rest⟩ := h
    have hw := hr w (List.Mem.head _)
    have e := and_true_split hw.2
    have hdiv : w.den * (S / w.den) = S := nat_eq_of_beq_eq_true e.1
    have hmax : w.num * (S / w.den) ≤ maxd := nat_le_of_ble_eq_true e.2
    have ih := twins_step s hc hcd hE hS hD vs ps qs r rest (nat_succ_inj' hl)
      (fun x hx => hr x (List.Mem.tail _ hx))
    have st := step_eqv s hv (sideDigit_eqv S w hdiv) hc hE hS hD hcd
    refine ⟨⟨nat_mul_pos hv0 (nat_mul_pos hw.1 hcd), ?_,
      nat_add_le_add hp (nat_mul_le_mul_left n (nat_le_trans (sideDigit_le S s w) hmax)),
      nat_add_le_add hq (nat_mul_le_mul_left n (nat_le_trans (sideDigit_le S (!s) w) hmax))⟩, ih⟩
    cases s <;> exact st

/-- A row added with a zero coefficient changes no value. -/
theorem twins_skip {E m : Nat} {c : Q} (h0 : c.num = 0) (hcd : 0 < c.den) :
    (vs : List V) → (ps qs : List Nat) → (r : List Q) → Twins E m vs ps qs → r.length = vs.length →
    AllWF r → Twins E m (zipWithL (fun a w => V.add a (V.mul w.toV c.toV)) vs r) ps qs
  | [], [], [], [], _, _, _ => trivial
  | [], _, _, _ :: _, _, hl, _ => absurd hl.symm (length_nil_ne_cons (α := V))
  | _ :: _, _, _, [], _, hl, _ => absurd hl (length_nil_ne_cons (α := Q))
  | [], [], _ :: _, _, h, _, _ => h.elim
  | [], _ :: _, _, _, h, _, _ => h.elim
  | _ :: _, [], _, _, h, _, _ => h.elim
  | _ :: _, _ :: _, [], _, h, _, _ => h.elim
  | v :: vs, p :: ps, q :: qs, w :: r, h, hl, hr => by
    obtain ⟨⟨hv0, hv, hp, hq⟩, rest⟩ := h
    have hw := allWF_head hr
    have hz : V.eqv v (V.add v (V.mul w.toV c.toV)) := by
      apply V.eqv_add_zero_num
      · unfold V.mul Q.toV V.signed; rw [h0]; cases c.neg <;> cases w.neg <;> rfl
      · unfold V.mul Q.toV V.signed; rw [h0]; cases c.neg <;> cases w.neg <;> rfl
    exact ⟨⟨nat_mul_pos hv0 (nat_mul_pos hw hcd), V.eqv_trans (V.eqv_symm' hz) hv hv0, hp, hq⟩,
      twins_skip h0 hcd vs ps qs r rest (nat_succ_inj' hl) (allWF_tail hr)⟩

/-- What `packSums` computes: sums packed from twins of `colV`'s values. -/
theorem packSums_sound {B S D E maxd : Nat} (hE : E = D * S) (hS : 0 < S) (hD : 0 < D) :
    (c : List Q) → (rows : List (List Q)) → (vs : List V) → (ps qs : List Nat) → (P N T : Nat) →
    (res : Nat × Nat × Nat) → AllWF c →
    (∀ row, row ∈ rows → row.length = vs.length ∧ ∀ w, w ∈ row → w.WF ∧ entryOk S maxd w = true) →
    Twins E (T * maxd) vs ps qs → P = packNat B ps → N = packNat B qs →
    packSums D c (rows.map (packSide B S false)) (rows.map (packSide B S true)) P N T = some res →
    ∃ ps' qs', Twins E (res.2.2 * maxd) (colV c rows vs) ps' qs' ∧ res.1 = packNat B ps' ∧
      res.2.1 = packNat B qs'
  | [], _, vs, ps, qs, P, N, T, res, _, _, ht, hP, hN, h => by
    cases some_inj h
    exact ⟨ps, qs, ht, hP, hN⟩
  | _ :: _, [], vs, ps, qs, P, N, T, res, _, _, ht, hP, hN, h => by
    cases some_inj h
    exact ⟨ps, qs, ht, hP, hN⟩
  | a :: cs, row :: rows, vs, ps, qs, P, N, T, res, hc, hrows, ht, hP, hN, h => by
    have ha := allWF_head hc
    have hr0 := hrows row (List.Mem.head _)
    have hrwf : AllWF row := fun w hw => (hr0.2 w hw).1
    have hl' : (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs row).length = vs.length :=
      length_zipWithL _ vs row hr0.1.symm
    have hrows' : ∀ r', r' ∈ rows → r'.length = (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs row).length ∧
        ∀ w, w ∈ r' → w.WF ∧ entryOk S maxd w = true :=
      fun r' h' => ⟨(hrows r' (List.Mem.tail _ h')).1.trans hl'.symm, (hrows r' (List.Mem.tail _ h')).2⟩
    show ∃ ps' qs', Twins E (res.2.2 * maxd)
      (colV cs rows (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs row)) ps' qs' ∧ _
    have h' : cond (Nat.beq a.num (nat_lit 0))
        (packSums D cs (rows.map (packSide B S false)) (rows.map (packSide B S true)) P N T)
        (cond (Nat.beq (Nat.mul a.den (Nat.div D a.den)) D)
          (natFresh (Nat.mul a.num (Nat.div D a.den)) fun n =>
            cond a.neg (packSums D cs (rows.map (packSide B S false)) (rows.map (packSide B S true))
                (Nat.add P (Nat.mul n (packSide B S true row))) (Nat.add N (Nat.mul n (packSide B S false row)))
                (Nat.add T n))
              (packSums D cs (rows.map (packSide B S false)) (rows.map (packSide B S true))
                (Nat.add P (Nat.mul n (packSide B S false row))) (Nat.add N (Nat.mul n (packSide B S true row)))
                (Nat.add T n)))
          none) = some res := h
    cases h0 : Nat.beq a.num (nat_lit 0) with
    | true =>
      rw [h0] at h'
      exact packSums_sound hE hS hD cs rows _ ps qs P N T res (allWF_tail hc) hrows'
        (twins_skip (nat_eq_of_beq_eq_true h0) ha vs ps qs row ht hr0.1 hrwf) hP hN h'
    | false =>
      rw [h0] at h'
      cases hd : Nat.beq (Nat.mul a.den (Nat.div D a.den)) D with
      | false =>
        rw [hd] at h'
        exact (none_ne_some h').elim
      | true =>
        rw [hd, natFresh_eq] at h'
        have hdiv : a.den * (D / a.den) = D := nat_eq_of_beq_eq_true hd
        have hce := coeff_eqv D a hdiv
        have hlen := twins_length vs ps qs ht
        have hm : (T + a.num * (D / a.den)) * maxd = T * maxd + a.num * (D / a.den) * maxd :=
          nat_right_distrib _ _ _
        have tw := twins_step a.neg hce ha hE hS hD vs ps qs row ht hr0.1 hr0.2
        rw [← hm] at tw
        have hP' := fun side => packNat_addMul B (a.num * (D / a.den)) ps (row.map (sideDigit S side))
          (hlen.1.trans (hr0.1.symm.trans (length_map' _ row).symm))
        have hN' := fun side => packNat_addMul B (a.num * (D / a.den)) qs (row.map (sideDigit S side))
          (hlen.2.trans (hr0.1.symm.trans (length_map' _ row).symm))
        cases hs : a.neg with
        | true =>
          rw [hs] at h' tw
          exact packSums_sound hE hS hD cs rows _ _ _ _ _ _ res (allWF_tail hc) hrows' tw
            (by rw [hP' true, hP]; rfl) (by rw [hN' (!true), hN]; rfl) h'
        | false =>
          rw [hs] at h' tw
          exact packSums_sound hE hS hD cs rows _ _ _ _ _ _ res (allWF_tail hc) hrows' tw
            (by rw [hP' false, hP]; rfl) (by rw [hN' (!false), hN]; rfl) h'

/-- `(a - b) / E` has the value of the pair. -/
theorem diffQ_eqv (a b E : Nat) (hE : 0 < E) : V.eqv (diffQ a b E).toV ⟨a, b, E⟩ := by
  unfold diffQ
  cases h : Nat.ble b a with
  | true =>
    have hb : b ≤ a := nat_le_of_ble_eq_true h
    refine V.eqv_trans (Q.make_eqv false (Nat.sub a b) E hE) ?_ hE
    show (a - b) * E + b * E = a * E + 0 * E
    rw [← nat_right_distrib, nat_sub_add_cancel hb, nat_zero_mul, nat_add_zero]
  | false =>
    have hb : a ≤ b := nat_le_of_lt (nat_lt_of_ble_false h)
    refine V.eqv_trans (Q.make_eqv true (Nat.sub b a) E hE) ?_ hE
    show 0 * E + b * E = a * E + (b - a) * E
    rw [nat_zero_mul, nat_zero_add, ← nat_right_distrib, nat_add_comm a, nat_sub_add_cancel hb]

/-- `(a - b) / d` has a positive denominator. -/
theorem diffQ_wf (a b d : Nat) : (diffQ a b d).WF := by
  unfold diffQ
  cases Nat.ble b a with
  | true => exact Q.make_wf _ _ _
  | false => exact Q.make_wf _ _ _

/-- Twins below `B` are digits. -/
theorem twins_lt {E m B : Nat} (hm : m < B) : (vs : List V) → (ps qs : List Nat) → Twins E m vs ps qs →
    (∀ a, a ∈ ps → a < B) ∧ (∀ b, b ∈ qs → b < B)
  | [], [], [], _ => ⟨(fun _ h => nomatch h), (fun _ h => nomatch h)⟩
  | [], [], _ :: _, h => h.elim
  | [], _ :: _, _, h => h.elim
  | _ :: _, [], _, h => h.elim
  | _ :: _, _ :: _, [], h => h.elim
  | _ :: vs, p :: ps, q :: qs, h => by
    have ih := twins_lt hm vs ps qs h.2
    refine ⟨fun a ha => ?_, fun b hb => ?_⟩
    · cases ha with
      | head => exact nat_lt_of_le_of_lt h.1.2.2.1 hm
      | tail _ ha' => exact ih.1 a ha'
    · cases hb with
      | head => exact nat_lt_of_le_of_lt h.1.2.2.2 hm
      | tail _ hb' => exact ih.2 b hb'

/-- The rationals of twins sum, against `x`, to the values' sum. -/
theorem vdot_twins {E m : Nat} (hE : 0 < E) : (vs : List V) → (ps qs : List Nat) → Twins E m vs ps qs →
    (x : List Q) → V.eqv (vdot (zipWithL (fun a b => diffQ a b E) ps qs) x) (vdotV vs x)
  | [], [], [], _, _ => V.eqv_refl _
  | [], [], _ :: _, h, _ => h.elim
  | [], _ :: _, _, h, _ => h.elim
  | _ :: _, [], _, h, _ => h.elim
  | _ :: _, _ :: _, [], h, _ => h.elim
  | _ :: _, _ :: _, _ :: _, _, [] => V.eqv_refl _
  | _ :: vs, p :: ps, q :: qs, h, y :: x =>
    V.add_congr (V.mul_congr_left y.toV (V.eqv_trans (diffQ_eqv p q E hE) (V.eqv_symm' h.1.2.1) hE))
      (vdot_twins hE vs ps qs h.2 x)

/-- `colV` keeps the length. -/
theorem colV_length : (c : List Q) → (rows : List (List Q)) → (vs : List V) →
    (∀ r, r ∈ rows → r.length = vs.length) → (colV c rows vs).length = vs.length
  | [], _, _, _ => rfl
  | _ :: _, [], _, _ => rfl
  | a :: cs, r :: rs, vs, h => by
    have hl := length_zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r (h r (List.Mem.head _)).symm
    show (colV cs rs (zipWithL (fun v w => V.add v (V.mul w.toV a.toV)) vs r)).length = vs.length
    rw [colV_length cs rs _ (fun r' h' => (h r' (List.Mem.tail _ h')).trans hl.symm), hl]

/-- A product with a positive value is positive in each factor. -/
theorem nat_pos_of_mul_pos {a b : Nat} (h : 0 < a * b) : 0 < a ∧ 0 < b := by
  cases a with
  | zero => rw [nat_zero_mul] at h; exact absurd h (nat_lt_irrefl 0)
  | succ a =>
    cases b with
    | zero => rw [nat_mul_zero] at h; exact absurd h (nat_lt_irrefl 0)
    | succ b => exact ⟨nat_succ_pos a, nat_succ_pos b⟩

/-- A packed combination has `colComb`'s values. -/
theorem colCombP_vdot (B S maxd : Nat) (c : List Q) (rows : List (List Q)) (x : List Q) (hc : AllWF c) (hx : AllWF x)
    (hrows : ∀ r, r ∈ rows → AllWF r ∧ r.length = x.length) :
    (l : List Q) → colCombP c (packWith B S maxd rows) x.length = some l →
    V.eqv (vdot l x) (vdot (colComb c rows x.length) x) := by
  intro l hp
  have h0 : All2 AccRel (List.replicate x.length (Acc.ofQ Q.zero)) (List.replicate x.length V.zero) :=
    all2_replicate ⟨nat_succ_pos 0, nat_succ_pos 0, V.eqv_of_eq rfl⟩ x.length
  have hcol := accRel_col c rows _ _ hc
    (fun r h => ⟨(hrows r h).1, (hrows r h).2.trans (length_replicate' V.zero x.length).symm⟩) h0
  have slow := vdot_map_toQ hcol x
  have hF := vdotV_den_pos _ x (densPos_of_accRel hcol) hx
  refine V.eqv_trans ?_ (V.eqv_symm' slow) hF
  obtain ⟨hg, hs⟩ := guard_some hp
  obtain ⟨r, hr, h2⟩ := obind_some hs
  obtain ⟨hb, hu⟩ := guard_some h2
  have g := and_true_split hg
  have hpos := nat_pos_of_mul_pos (nat_le_of_ble_eq_true g.2)
  have hE : 0 < maxOf Q.den c 1 * S := nat_mul_pos hpos.1 hpos.2
  have hok : ∀ row, row ∈ rows → row.length = (List.replicate x.length V.zero).length ∧
      ∀ w, w ∈ row → w.WF ∧ entryOk S maxd w = true := by
    intro row hrow
    refine ⟨(hrows row hrow).2.trans (length_replicate' V.zero x.length).symm, fun w hw => ⟨(hrows row hrow).1 w hw, ?_⟩⟩
    exact all_sound row (all_sound rows g.1 row hrow) w hw
  have tz : Twins (maxOf Q.den c 1 * S) (0 * maxd)
      (List.replicate x.length V.zero) (List.replicate x.length 0) (List.replicate x.length 0) := by
    rw [nat_zero_mul]
    exact twins_zero x.length
  obtain ⟨ps, qs, tw, e1, e2⟩ := packSums_sound (B := B) rfl hpos.2 hpos.1 c rows _ _ _ 0 0 0 r hc hok tz
    (packNat_replicate_zero B x.length).symm (packNat_replicate_zero B x.length).symm hr
  have hlen := twins_length _ _ _ tw
  have hcl := colV_length c rows _ (fun row h => (hok row h).1)
  rw [length_replicate'] at hcl
  have lt := twins_lt (nat_le_of_ble_eq_true hb) _ _ _ tw
  rw [e1, e2] at hu
  rw [unpack2_sound _ _ x.length ps qs (hlen.1.trans hcl) (hlen.2.trans hcl) lt.1 lt.2 l hu]
  exact vdot_twins hE _ ps qs tw x

/-- `unpack2` gives rationals. -/
theorem unpack2_wf (B d : Nat) : (n P N : Nat) → (l : List Q) → unpack2 B d n P N = some l → AllWF l
  | 0, _, _, l, h => by
    have h' : some [] = some l := h
    injection h' with e
    subst e
    exact fun _ hq => nomatch hq
  | n + 1, P, N, l, h => by
    unfold unpack2 at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    rw [natFresh_eq] at h
    cases hc : (Nat.ble (Nat.add (Nat.sub P (Nat.mul B (Nat.div P B))) 1) B &&
        Nat.ble (Nat.add (Nat.sub N (Nat.mul B (Nat.div N B))) 1) B &&
        Nat.beq (Nat.add (Nat.sub P (Nat.mul B (Nat.div P B))) (Nat.mul B (Nat.div P B))) P &&
        Nat.beq (Nat.add (Nat.sub N (Nat.mul B (Nat.div N B))) (Nat.mul B (Nat.div N B))) N) with
    | false =>
      rw [hc] at h
      exact (none_ne_some h).elim
    | true =>
      rw [hc] at h
      obtain ⟨l', hl', e⟩ := option_map_some' h
      subst e
      intro q hq
      cases hq with
      | head => exact diffQ_wf _ _ _
      | tail _ hq' => exact unpack2_wf B d n _ _ l' hl' q hq'

/-- `colCombF` has `colComb`'s values. -/
theorem colCombF_vdot (c : List Q) (rows : List (List Q)) (x : List Q) (hc : AllWF c) (hx : AllWF x)
    (hrows : ∀ r, r ∈ rows → AllWF r ∧ r.length = x.length) :
    V.eqv (vdot (colCombF c rows x.length) x) (vdot (colComb c rows x.length) x) := by
  have e : packRows rows = packWith
      (packBase (maxOf (fun w => Nat.mul w.num (Nat.div (maxOf Q.den (concatMap id rows) 1) w.den))
        (concatMap id rows) 0))
      (maxOf Q.den (concatMap id rows) 1)
      (maxOf (fun w => Nat.mul w.num (Nat.div (maxOf Q.den (concatMap id rows) 1) w.den))
        (concatMap id rows) 0) rows := rfl
  unfold colCombF colCombWith
  rw [e]
  generalize maxOf (fun w => Nat.mul w.num (Nat.div (maxOf Q.den (concatMap id rows) 1) w.den))
    (concatMap id rows) 0 = maxd
  generalize maxOf Q.den (concatMap id rows) 1 = S
  generalize packBase maxd = B
  cases hp : colCombP c (packWith B S maxd rows) x.length with
  | none => exact V.eqv_refl _
  | some l => exact colCombP_vdot B S maxd c rows x hc hx hrows l hp

/-- `colCombF` gives rationals. -/
theorem colCombF_wf (c : List Q) (rows : List (List Q)) (n : Nat) : AllWF (colCombF c rows n) := by
  unfold colCombF colCombWith
  cases hp : colCombP c (packRows rows) n with
  | none => exact colComb_wf c rows n
  | some l =>
    show AllWF l
    unfold colCombP at hp
    obtain ⟨_, hs⟩ := guard_some hp
    obtain ⟨r, _, h2⟩ := obind_some hs
    obtain ⟨_, hu⟩ := guard_some h2
    exact unpack2_wf _ _ n _ _ l hu

end Pytorch2Lean
