/-
The project's own facts about `Nat` and `Bool`, proved from the few core lemmas that both the
substitute core library and real Lean 4 provide (so that the library checks against either).
`QOrder` rests on them: monotonicity and cancellation of `+` and `*` on `Nat`, which core lacks
in the substitute and names differently across versions. The last section (division, shifts and
`land`, for `Float32`'s lane test) is the exception: it unfolds the substitute core's definitions,
which Lean 4 core writes differently (see there).
-/
namespace Pytorch2Lean

-- Proofs here and in `QOrder` normalise polynomial identities in three passes (distribute; order
-- each product; order each sum) with fixed lists of lemmas, whichever of them a goal needs.
set_option linter.unusedSimpArgs false

/-! ### Basic facts, proved here from the definitions

The rest of the library cites these rather than core's lemmas of the same meaning, so that its
dependence on core's lemma names stays in this file. -/

/-- `0 ≤ n`. -/
theorem nat_zero_le : (n : Nat) → 0 ≤ n
  | 0 => Nat.le.refl
  | n + 1 => Nat.le.step (nat_zero_le n)

/-- `≤` is transitive. -/
theorem nat_le_trans {n m k : Nat} (h₁ : n ≤ m) (h₂ : m ≤ k) : n ≤ k := by
  induction h₂ with
  | refl => exact h₁
  | step _ ih => exact Nat.le.step ih

/-- `n ≤ n + 1`. -/
theorem nat_le_succ (n : Nat) : n ≤ n + 1 := Nat.le.step Nat.le.refl

/-- Adding one on both sides keeps `≤`. -/
theorem nat_succ_le_succ {n m : Nat} (h : n ≤ m) : n + 1 ≤ m + 1 := by
  induction h with
  | refl => exact Nat.le.refl
  | step _ ih => exact Nat.le.step ih

/-- Removing one on both sides keeps `≤`. -/
theorem nat_le_of_succ_le_succ {n m : Nat} (h : n + 1 ≤ m + 1) : n ≤ m := by
  cases h with
  | refl => exact Nat.le.refl
  | step h' => exact nat_le_trans (nat_le_succ n) h'

/-- `0 < n + 1`. -/
theorem nat_succ_pos (n : Nat) : 0 < n + 1 := nat_succ_le_succ (nat_zero_le n)

/-- `n + 1 ≤ 0` is impossible. -/
theorem nat_not_succ_le_zero (n : Nat) (h : n + 1 ≤ 0) : False := by
  cases h

/-- `n < m + 1` means `n ≤ m`. -/
theorem nat_le_of_lt_succ {n m : Nat} (h : n < m + 1) : n ≤ m := nat_le_of_succ_le_succ h

/-- `n ≤ m` is `n = m` or `n < m`. -/
theorem nat_eq_or_lt_of_le {n m : Nat} (h : n ≤ m) : n = m ∨ n < m := by
  induction h with
  | refl => exact Or.inl rfl
  | step h' _ => exact Or.inr (nat_succ_le_succ h')

/-- `n + 0 = n`. -/
theorem nat_add_zero (n : Nat) : n + 0 = n := rfl

/-- `0 + n = n`. -/
theorem nat_zero_add : (n : Nat) → 0 + n = n
  | 0 => rfl
  | n + 1 => congrArg Nat.succ (nat_zero_add n)

/-- `(n + 1) + m = (n + m) + 1`. -/
theorem nat_succ_add (n : Nat) : (m : Nat) → (n + 1) + m = (n + m) + 1
  | 0 => rfl
  | m + 1 => congrArg Nat.succ (nat_succ_add n m)

/-- `+` is commutative. -/
theorem nat_add_comm (n : Nat) : (m : Nat) → n + m = m + n
  | 0 => (nat_zero_add n).symm
  | m + 1 => (congrArg Nat.succ (nat_add_comm n m)).trans (nat_succ_add m n).symm

/-- `+` is associative. -/
theorem nat_add_assoc (n m : Nat) : (k : Nat) → n + m + k = n + (m + k)
  | 0 => rfl
  | k + 1 => congrArg Nat.succ (nat_add_assoc n m k)

/-- `n + m + k = n + k + m`. -/
theorem nat_add_right_comm (n m k : Nat) : n + m + k = n + k + m := by
  rw [nat_add_assoc, nat_add_comm m k, ← nat_add_assoc]

/-- `Nat.beq` is reflexive. -/
theorem nat_beq_refl : (n : Nat) → Nat.beq n n = true
  | 0 => rfl
  | n + 1 => nat_beq_refl n

/-- `Nat.beq` is true only on equal numbers. -/
theorem nat_eq_of_beq_eq_true : {n m : Nat} → Nat.beq n m = true → n = m
  | 0, 0, _ => rfl
  | 0, _ + 1, h => Bool.noConfusion h
  | _ + 1, 0, h => Bool.noConfusion h
  | n + 1, m + 1, h => congrArg Nat.succ (@nat_eq_of_beq_eq_true n m h)

/-- `Nat.ble` is true only for `≤`. -/
theorem nat_le_of_ble_eq_true : {n m : Nat} → Nat.ble n m = true → n ≤ m
  | 0, m, _ => nat_zero_le m
  | _ + 1, 0, h => Bool.noConfusion h
  | n + 1, m + 1, h => nat_succ_le_succ (@nat_le_of_ble_eq_true n m h)

/-- `Nat.ble` is true for `≤`. -/
theorem nat_ble_eq_true_of_le : {n m : Nat} → n ≤ m → Nat.ble n m = true
  | 0, 0, _ => rfl
  | 0, _ + 1, _ => rfl
  | n + 1, 0, h => absurd h (nat_not_succ_le_zero n)
  | n + 1, m + 1, h => @nat_ble_eq_true_of_le n m (nat_le_of_succ_le_succ h)

/-- Multiplying on the left keeps `≤`. -/
theorem nat_mul_le_mul_left {m n : Nat} (k : Nat) (h : m ≤ n) : k * m ≤ k * n := by
  obtain ⟨e, he⟩ := Nat.exists_eq_add_of_le h
  rw [he, Nat.left_distrib]
  exact Nat.le_add_right _ _

/-- Multiplying on the right keeps `≤`. -/
theorem nat_mul_le_mul_right {m n : Nat} (k : Nat) (h : m ≤ n) : m * k ≤ n * k := by
  rw [Nat.mul_comm m k, Nat.mul_comm n k]
  exact nat_mul_le_mul_left k h

/-- Products are monotone in both factors. -/
theorem nat_mul_le_mul {a b c d : Nat} (h₁ : a ≤ b) (h₂ : c ≤ d) : a * c ≤ b * d :=
  Nat.le_trans (nat_mul_le_mul_right c h₁) (nat_mul_le_mul_left b h₂)

/-- A common summand on the left cancels from `≤`. -/
theorem nat_le_of_add_le_add_left {k m n : Nat} (h : k + m ≤ k + n) : m ≤ n := by
  cases Nat.lt_or_ge n m with
  | inl hlt => exact absurd h (Nat.not_le_of_gt (Nat.add_lt_add_left hlt k))
  | inr hge => exact hge

/-- A common summand on the right cancels from `≤`. -/
theorem nat_le_of_add_le_add_right {k m n : Nat} (h : m + k ≤ n + k) : m ≤ n := by
  rw [Nat.add_comm m k, Nat.add_comm n k] at h
  exact nat_le_of_add_le_add_left h

/-- `k * m < k * n` for `m < n` and a positive `k`. -/
theorem nat_mul_lt_mul_left {k m n : Nat} (hk : 0 < k) (h : m < n) : k * m < k * n := by
  obtain ⟨e, he⟩ := Nat.exists_eq_add_of_lt h
  have h1 : k * m + k ≤ k * n := by
    rw [he, Nat.left_distrib k (m + e) 1, Nat.mul_one]
    exact Nat.add_le_add_right (nat_mul_le_mul_left k (Nat.le_add_right m e)) k
  exact Nat.lt_of_lt_of_le (Nat.add_lt_add_left hk (k * m)) h1

/-- A positive common factor on the left cancels from `≤`. -/
theorem nat_le_of_mul_le_mul_left {k m n : Nat} (hk : 0 < k) (h : k * m ≤ k * n) : m ≤ n := by
  cases Nat.lt_or_ge n m with
  | inl hlt => exact absurd h (Nat.not_le_of_gt (nat_mul_lt_mul_left hk hlt))
  | inr hge => exact hge

/-- The product of positive numbers is positive. -/
theorem nat_mul_pos {m n : Nat} (hm : 0 < m) (hn : 0 < n) : 0 < m * n :=
  Nat.lt_of_lt_of_le hm (by
    have h := nat_mul_le_mul_left m hn
    rw [Nat.mul_one] at h
    exact h)

/-- A factor of a positive number is positive: `q * g = d` with `0 < d` gives `0 < q`. -/
theorem nat_pos_of_mul_eq {q g d : Nat} (h : q * g = d) (hd : 0 < d) : 0 < q := by
  cases q with
  | zero =>
    rw [Nat.zero_mul] at h
    rw [← h] at hd
    exact absurd hd (Nat.lt_irrefl 0)
  | succ q => exact Nat.succ_pos q

/-- The rearrangement inequality for two pairs: `(b - a) * (d - c) ≥ 0`, without subtraction. -/
theorem nat_rearrange {a b c d : Nat} (h₁ : a ≤ b) (h₂ : c ≤ d) :
    a * d + b * c ≤ a * c + b * d := by
  obtain ⟨e, he⟩ := Nat.exists_eq_add_of_le h₁
  obtain ⟨f, hf⟩ := Nat.exists_eq_add_of_le h₂
  rw [he, hf]
  have h := Nat.le_add_right (a * (c + f) + (a + e) * c) (e * f)
  simp only [Nat.left_distrib, Nat.right_distrib] at h ⊢
  simp only [Nat.mul_comm, Nat.mul_assoc, Nat.mul_left_comm] at h ⊢
  simp only [Nat.add_comm, Nat.add_assoc, Nat.add_left_comm] at h ⊢
  exact h

/-- `Nat.ble` decides `≤`. -/
theorem nat_ble_iff {m n : Nat} : Nat.ble m n = true ↔ m ≤ n :=
  ⟨Nat.le_of_ble_eq_true, Nat.ble_eq_true_of_le⟩

/-- `Nat.ble m n = false` means `n < m`. -/
theorem nat_lt_of_ble_false {m n : Nat} (h : Nat.ble m n = false) : n < m := by
  cases Nat.lt_or_ge n m with
  | inl hlt => exact hlt
  | inr hge =>
    rw [Nat.ble_eq_true_of_le hge] at h
    exact Bool.noConfusion h

/-- `!b = true` means `b = false`. -/
theorem bool_eq_false_of_not {b : Bool} (h : (!b) = true) : b = false := by
  cases b
  · rfl
  · exact Bool.noConfusion h

/-- `b = false` means `!b = true`. -/
theorem bool_not_of_eq_false {b : Bool} (h : b = false) : (!b) = true := by
  rw [h]; rfl

/-- `cond true` picks its first branch (a `simp` lemma for goals with literal conditions). -/
theorem cond_true' {α : Sort u} (a b : α) : cond true a b = a := rfl

/-- `cond false` picks its second branch. -/
theorem cond_false' {α : Sort u} (a b : α) : cond false a b = b := rfl

/-- `!=` on literal booleans (a `simp` lemma set with the next three). -/
theorem bne_false_false : (false != false) = false := rfl
/-- `false != true`. -/
theorem bne_false_true : (false != true) = true := rfl
/-- `true != false`. -/
theorem bne_true_false : (true != false) = true := rfl
/-- `true != true`. -/
theorem bne_true_true : (true != true) = false := rfl

/-- The library computes with `Nat.mul` applied directly (cheaper in the kernel); proofs rewrite
it to `*`, the form the arithmetic lemmas are stated in. -/
theorem nat_mul_eq (m n : Nat) : Nat.mul m n = m * n := rfl

/-- `Nat.add` is `+`. -/
theorem nat_add_eq (m n : Nat) : Nat.add m n = m + n := rfl

/-- `Nat.sub` is `-`. -/
theorem nat_sub_eq (m n : Nat) : Nat.sub m n = m - n := rfl

/-- `a < b` or `b ≤ a`. -/
theorem nat_lt_or_ge : (a b : Nat) → a < b ∨ b ≤ a
  | _, 0 => Or.inr (nat_zero_le _)
  | 0, _ + 1 => Or.inl (nat_succ_pos _)
  | a + 1, b + 1 =>
    match nat_lt_or_ge a b with
    | .inl h => Or.inl (nat_succ_le_succ h)
    | .inr h => Or.inr (nat_succ_le_succ h)

/-! ### Core facts under the project's names

The rest of the library cites these names, so that core's lemma names (the same in the substitute
core library and in Lean 4 core) appear in this file only. -/

/-- `*` commutes. -/
theorem nat_mul_comm : ∀ (n m : Nat), n * m = m * n := Nat.mul_comm

/-- `0 * n = 0`. -/
theorem nat_zero_mul : ∀ (n : Nat), 0 * n = 0 := Nat.zero_mul

/-- `n * 0 = 0`. -/
theorem nat_mul_zero : ∀ (n : Nat), n * 0 = 0 := Nat.mul_zero

/-- `n * 1 = n`. -/
theorem nat_mul_one : ∀ (n : Nat), n * 1 = n := Nat.mul_one

/-- `1 * n = n`. -/
theorem nat_one_mul : ∀ (n : Nat), 1 * n = n := Nat.one_mul

/-- Swapping the first two factors. -/
theorem nat_mul_left_comm : ∀ (n m k : Nat), n * (m * k) = m * (n * k) := Nat.mul_left_comm

/-- `*` is associative. -/
theorem nat_mul_assoc : ∀ (n m k : Nat), n * m * k = n * (m * k) := Nat.mul_assoc

/-- `*` distributes over `+` on the right. -/
theorem nat_right_distrib : ∀ (n m k : Nat), (n + m) * k = n * k + m * k := Nat.right_distrib

/-- `*` distributes over `+` on the left. -/
theorem nat_left_distrib : ∀ (n m k : Nat), n * (m + k) = n * m + n * k := Nat.left_distrib

/-- Swapping the first two summands. -/
theorem nat_add_left_comm : ∀ (n m k : Nat), n + (m + k) = m + (n + k) := Nat.add_left_comm

/-- `≤` is reflexive. -/
theorem nat_le_refl : ∀ (n : Nat), n ≤ n := Nat.le_refl

/-- Truncated subtraction undone. -/
theorem nat_sub_add_cancel : ∀ {n m : Nat}, m ≤ n → n - m + m = n := Nat.sub_add_cancel

/-- `<` is irreflexive. -/
theorem nat_lt_irrefl : ∀ (n : Nat), ¬n < n := Nat.lt_irrefl

/-- A nonzero natural is positive. -/
theorem nat_pos_of_ne_zero : ∀ {n : Nat}, n ≠ 0 → 0 < n := Nat.pos_of_ne_zero

/-- `Nat.beq` false means unequal. -/
theorem nat_ne_of_beq_eq_false : ∀ {n m : Nat}, Nat.beq n m = false → n ≠ m := Nat.ne_of_beq_eq_false

/-- `<` implies `≤`. -/
theorem nat_le_of_lt : ∀ {n m : Nat}, n < m → n ≤ m := Nat.le_of_lt

/-- `=` implies `≤`. -/
theorem nat_le_of_eq : ∀ {n m : Nat}, n = m → n ≤ m := Nat.le_of_eq

/-- Sums of `≤` bounds. -/
theorem nat_add_le_add : ∀ {a b c d : Nat}, a ≤ b → c ≤ d → a + c ≤ b + d := Nat.add_le_add

/-- `<` then `≤`. -/
theorem nat_lt_of_lt_of_le : ∀ {n m k : Nat}, n < m → m ≤ k → n < k := Nat.lt_of_lt_of_le

/-- `≤` then `<`. -/
theorem nat_lt_of_le_of_lt : ∀ {n m k : Nat}, n ≤ m → m < k → n < k := Nat.lt_of_le_of_lt

/-- `≤` is antisymmetric. -/
theorem nat_le_antisymm : ∀ {n m : Nat}, n ≤ m → m ≤ n → n = m := Nat.le_antisymm

/-- `n ≤ m + n`. -/
theorem nat_le_add_left : ∀ (n m : Nat), n ≤ m + n := Nat.le_add_left

/-- `Nat.ble n n`. -/
theorem nat_ble_self_eq_true : ∀ (n : Nat), Nat.ble n n = true := Nat.ble_self_eq_true

/-- `≤` on both sides of a sum. -/
theorem nat_add_le_add_right : ∀ {n m : Nat}, n ≤ m → ∀ (k : Nat), n + k ≤ m + k := Nat.add_le_add_right

/-- `<` on both sides of a sum. -/
theorem nat_add_lt_add_left : ∀ {n m : Nat}, n < m → ∀ (k : Nat), k + n < k + m := Nat.add_lt_add_left

/-- `<` is transitive. -/
theorem nat_lt_trans : ∀ {n m k : Nat}, n < m → m < k → n < k := Nat.lt_trans

/-- `n < n + 1`. -/
theorem nat_lt_succ_self : ∀ (n : Nat), n < n + 1 := Nat.lt_succ_self

/-- `n + m - m = n`. -/
theorem nat_add_sub_cancel : ∀ (n m : Nat), n + m - m = n := Nat.add_sub_cancel

/-- `m < n` means `n = m + k + 1` for some `k`. -/
theorem nat_exists_eq_add_of_lt : ∀ {m n : Nat}, m < n → ∃ k : Nat, n = m + k + 1 := Nat.exists_eq_add_of_lt

/-- `b && true = b`. -/
theorem bool_and_true : ∀ (b : Bool), (b && true) = b := Bool.and_true

/-! ### Division, shifts and `land`, from core's definitions

`Float32`'s lane test (`tensorOk_of_lanes`) rests on these. The substitute core library has no
lemmas about `Nat.div`, `Nat.mod`, `Nat.land` or `Nat.shiftRight`, so they are proved from the
definitions themselves: `Nat.div.go`, `Nat.modCore.go` and `Nat.bitwise.go`, fuel-bounded
structural recursions, as the substitute core (`../shared/lean-toolchain`) writes them. This
section is the one place that depends on how core defines them; Lean 4 core defines them
differently and would prove the same statements from its `Nat.div_add_mod` and `Nat.testBit`
lemmas instead. Everything is stated with the functions themselves (`Nat.div`, not `/`), the form
the library computes with. -/

/-- The quotient loop of `Nat.div` on `r + y * q` (`r < y`) counts `q` subtractions, given the fuel. -/
private theorem nat_div_go (y : Nat) (r : Nat) (hr : r < y) : (fuel q : Nat) → q < fuel → Nat.div.go y fuel (r + y * q) = q
  | 0, _, h => absurd h (Nat.not_succ_le_zero _)
  | fuel + 1, 0, _ => by
    show (if y ≤ r then Nat.div.go y fuel (r - y) + 1 else 0) = 0
    rw [if_neg (Nat.not_le_of_gt hr)]
  | fuel + 1, q + 1, h => by
    show (if y ≤ r + y * (q + 1) then Nat.div.go y fuel (r + y * (q + 1) - y) + 1 else 0) = q + 1
    have e : r + y * (q + 1) = (r + y * q) + y := (Nat.add_assoc _ _ _).symm
    rw [e, if_pos (Nat.le_add_left y _), Nat.add_sub_cancel, nat_div_go y r hr fuel q (Nat.le_of_succ_le_succ h)]

/-- The remainder loop of `Nat.mod` on `r + y * q` (`r < y`) leaves `r`, given the fuel. -/
private theorem nat_mod_go (y : Nat) (r : Nat) (hr : r < y) : (fuel q : Nat) → q < fuel → Nat.modCore.go y fuel (r + y * q) = r
  | 0, _, h => absurd h (Nat.not_succ_le_zero _)
  | fuel + 1, 0, _ => by
    show (if y ≤ r then Nat.modCore.go y fuel (r - y) else r) = r
    rw [if_neg (Nat.not_le_of_gt hr)]
  | fuel + 1, q + 1, h => by
    show (if y ≤ r + y * (q + 1) then Nat.modCore.go y fuel (r + y * (q + 1) - y) else r + y * (q + 1)) = r
    have e : r + y * (q + 1) = (r + y * q) + y := (Nat.add_assoc _ _ _).symm
    rw [e, if_pos (Nat.le_add_left y _), Nat.add_sub_cancel, nat_mod_go y r hr fuel q (Nat.le_of_succ_le_succ h)]

/-- `q ≤ r + y * q` when `y > r ≥ 0` (so `y ≥ 1`). -/
theorem nat_le_mul_of_lt {r y : Nat} (q : Nat) (hr : r < y) : q ≤ r + y * q := by
  cases y with
  | zero => exact absurd hr (Nat.not_succ_le_zero r)
  | succ y =>
    rw [Nat.mul_comm, Nat.mul_succ]
    exact Nat.le_trans (Nat.le_add_left q _) (Nat.le_add_left _ r)

/-- Division undoes `r + y * q` for `r < y`. -/
theorem nat_div_eq (y r q : Nat) (hr : r < y) : Nat.div (r + y * q) y = q := by
  unfold Nat.div
  rw [if_pos (Nat.lt_of_le_of_lt (Nat.zero_le r) hr)]
  exact nat_div_go y r hr _ q (Nat.lt_succ_of_le (nat_le_mul_of_lt q hr))

/-- The remainder of `r + y * q` by `y` is `r` for `r < y`. -/
theorem nat_mod_eq (y r q : Nat) (hr : r < y) : Nat.mod (r + y * q) y = r := by
  unfold Nat.mod
  rw [if_pos (Nat.lt_of_le_of_lt (Nat.zero_le r) hr)]
  exact nat_mod_go y r hr _ q (Nat.lt_succ_of_le (nat_le_mul_of_lt q hr))

/-- Every number is `r + y * q` with `r < y` (`y > 0`), proved by counting, not from `Nat.div`. -/
theorem nat_divmod_exists {y : Nat} (hy : 0 < y) : (x : Nat) → ∃ r q, r < y ∧ x = r + y * q
  | 0 => ⟨0, 0, hy, rfl⟩
  | x + 1 => by
    obtain ⟨r, q, hr, e⟩ := nat_divmod_exists hy x
    cases Nat.eq_or_lt_of_le (hr : r + 1 ≤ y) with
    | inl h =>
      have h' : r + 1 = y := h
      exact ⟨0, q + 1, hy, by rw [e, Nat.add_right_comm, h', Nat.mul_succ, Nat.zero_add, Nat.add_comm]⟩
    | inr h => exact ⟨r + 1, q, h, by rw [e, Nat.add_right_comm]⟩

/-- `(n + 1) / 2 < n + 1`: the fuel `Nat.bitwise` spends per bit suffices. -/
theorem nat_half_lt (n : Nat) : Nat.div (n + 1) 2 < n + 1 := by
  obtain ⟨r, q, hr, e⟩ := nat_divmod_exists (y := 2) (by decide) (n + 1)
  rw [e, nat_div_eq 2 r q hr]
  cases q with
  | zero =>
    cases r with
    | zero => exact absurd e (Nat.succ_ne_zero n)
    | succ r => exact Nat.lt_of_lt_of_le (Nat.succ_pos r) (Nat.le_add_right _ _)
  | succ q =>
    have h : q + 1 < 2 * (q + 1) := by
      rw [Nat.succ_mul, Nat.one_mul]
      exact Nat.add_lt_add_left (Nat.succ_pos q) (q + 1)
    exact Nat.lt_of_lt_of_le h (Nat.le_add_left _ r)

/-- More fuel than the first argument needs changes nothing. -/
private theorem nat_bitwise_go_succ (f : Bool → Bool → Bool) : (fuel n m : Nat) → n < fuel →
    Nat.bitwise.go f (fuel + 1) n m = Nat.bitwise.go f fuel n m
  | 0, _, _, h => absurd h (Nat.not_succ_le_zero _)
  | _ + 1, 0, _, _ => rfl
  | _ + 1, _ + 1, 0, _ => rfl
  | fuel + 1, n + 1, m + 1, h => by
    show (if f ((n+1) % 2 == 1) ((m+1) % 2 == 1) then 2 * Nat.bitwise.go f (fuel + 1) ((n+1) / 2) ((m+1) / 2) + 1
        else 2 * Nat.bitwise.go f (fuel + 1) ((n+1) / 2) ((m+1) / 2)) =
      (if f ((n+1) % 2 == 1) ((m+1) % 2 == 1) then 2 * Nat.bitwise.go f fuel ((n+1) / 2) ((m+1) / 2) + 1
        else 2 * Nat.bitwise.go f fuel ((n+1) / 2) ((m+1) / 2))
    rw [nat_bitwise_go_succ f fuel ((n+1) / 2) ((m+1) / 2)
      (Nat.lt_of_lt_of_le (nat_half_lt n) (Nat.le_of_lt_succ h))]

/-- Any extra fuel changes nothing. -/
private theorem nat_bitwise_go_add (f : Bool → Bool → Bool) (fuel n m : Nat) (h : n < fuel) :
    (k : Nat) → Nat.bitwise.go f (fuel + k) n m = Nat.bitwise.go f fuel n m
  | 0 => rfl
  | k + 1 => (nat_bitwise_go_succ f (fuel + k) n m (Nat.lt_of_lt_of_le h (Nat.le_add_right _ _))).trans
      (nat_bitwise_go_add f fuel n m h k)

/-- `land n m` on fuel `n + 1` (the definition gives it `n + m + 1`). -/
private theorem nat_land_go (n m : Nat) : Nat.land n m = Nat.bitwise.go and (n + 1) n m := by
  show Nat.bitwise.go and (n + m + 1) n m = _
  rw [Nat.add_right_comm]
  exact nat_bitwise_go_add and (n + 1) n m (Nat.lt_succ_self n) m

/-- `land 0 m = 0`. -/
theorem nat_land_zero_left (m : Nat) : Nat.land 0 m = 0 := by
  rw [nat_land_go]; rfl

/-- `land n 0 = 0`. -/
theorem nat_land_zero_right : (n : Nat) → Nat.land n 0 = 0
  | 0 => rfl
  | n + 1 => by rw [nat_land_go]; rfl

/-- `land` of two nonzero numbers: their lowest bits, then the rest. -/
theorem nat_land_step (n m : Nat) : Nat.land (n + 1) (m + 1) =
    (if and ((n + 1) % 2 == 1) ((m + 1) % 2 == 1) then 2 * Nat.land ((n + 1) / 2) ((m + 1) / 2) + 1
      else 2 * Nat.land ((n + 1) / 2) ((m + 1) / 2)) := by
  obtain ⟨k, hk⟩ := Nat.exists_eq_add_of_le (nat_half_lt n : (n + 1) / 2 + 1 ≤ n + 1)
  have e : Nat.land ((n + 1) / 2) ((m + 1) / 2) = Nat.bitwise.go and (n + 1) ((n + 1) / 2) ((m + 1) / 2) := by
    have hk' : n + 1 = (n + 1) / 2 + 1 + k := hk
    rw [nat_land_go, ← nat_bitwise_go_add and ((n + 1) / 2 + 1) _ _ (Nat.lt_succ_self _) k, ← hk']
  rw [e, nat_land_go]
  rfl

/-- One bit off both: `land (a + 2 b) (c + 2 d) = land a c + 2 land b d` for bits `a`, `c`. -/
theorem nat_land_bit (a b c d : Nat) (ha : a < 2) (hc : c < 2) :
    Nat.land (a + 2 * b) (c + 2 * d) = Nat.land a c + 2 * Nat.land b d := by
  cases Nat.eq_zero_or_pos (a + 2 * b) with
  | inl h0 =>
    cases b with
    | succ b => exact absurd h0 (Nat.succ_ne_zero _)
    | zero =>
      have h0' : a = 0 := h0
      rw [h0', nat_land_zero_left, nat_land_zero_left, nat_land_zero_left]
  | inr hn =>
  cases Nat.eq_zero_or_pos (c + 2 * d) with
  | inl h0 =>
    cases d with
    | succ d => exact absurd h0 (Nat.succ_ne_zero _)
    | zero =>
      have h0' : c = 0 := h0
      rw [h0', nat_land_zero_right, nat_land_zero_right, nat_land_zero_right]
  | inr hm =>
    obtain ⟨n, en⟩ := Nat.exists_eq_add_of_le hn
    obtain ⟨m, em⟩ := Nat.exists_eq_add_of_le hm
    rw [Nat.add_comm 1 n] at en
    rw [Nat.add_comm 1 m] at em
    rw [en, em, nat_land_step, ← en, ← em]
    show (if and (Nat.mod (a + 2 * b) 2 == 1) (Nat.mod (c + 2 * d) 2 == 1) then
        2 * Nat.land (Nat.div (a + 2 * b) 2) (Nat.div (c + 2 * d) 2) + 1
      else 2 * Nat.land (Nat.div (a + 2 * b) 2) (Nat.div (c + 2 * d) 2)) = _
    rw [nat_mod_eq 2 a b ha, nat_mod_eq 2 c d hc, nat_div_eq 2 a b ha, nat_div_eq 2 c d hc]
    cases a with
    | zero =>
      cases c with
      | zero => exact (Nat.zero_add _).symm
      | succ c => cases c with
        | zero => exact (Nat.zero_add _).symm
        | succ c => exact absurd (Nat.le_of_succ_le_succ (Nat.le_of_succ_le_succ hc)) (Nat.not_succ_le_zero c)
    | succ a => cases a with
      | succ a => exact absurd (Nat.le_of_succ_le_succ (Nat.le_of_succ_le_succ ha)) (Nat.not_succ_le_zero a)
      | zero =>
        cases c with
        | zero => exact (Nat.zero_add _).symm
        | succ c => cases c with
          | zero => exact Nat.add_comm _ _
          | succ c => exact absurd (Nat.le_of_succ_le_succ (Nat.le_of_succ_le_succ hc)) (Nat.not_succ_le_zero c)

/-- A common factor on the left cancels from `<`. -/
theorem nat_lt_of_mul_lt_mul_left {y a b : Nat} (h : y * a < y * b) : a < b := by
  cases Nat.lt_or_ge a b with
  | inl h' => exact h'
  | inr h' => exact absurd (Nat.lt_of_lt_of_le h (nat_mul_le_mul_left y h')) (Nat.lt_irrefl _)

/-- `2^(k+1) = 2 * 2^k`. -/
theorem nat_two_pow_succ (k : Nat) : 2 ^ (k + 1) = 2 * 2 ^ k := Nat.mul_comm _ _

/-- `a0 + y * q < y * p` bounds the high digit: `q < p`. -/
theorem nat_lt_of_add_mul_lt {a0 q y p : Nat} (h : a0 + y * q < y * p) : q < p :=
  nat_lt_of_mul_lt_mul_left (Nat.lt_of_le_of_lt (Nat.le_add_left _ a0) h)

/-- `land` acts lane by lane: for `a, c < 2^k`, the low `k` bits and the rest separately. -/
theorem nat_land_lanes : (k a b c d : Nat) → a < 2 ^ k → c < 2 ^ k →
    Nat.land (a + 2 ^ k * b) (c + 2 ^ k * d) = Nat.land a c + 2 ^ k * Nat.land b d
  | 0, 0, b, 0, d, _, _ => by
    show Nat.land (0 + 1 * b) (0 + 1 * d) = Nat.land 0 0 + 1 * Nat.land b d
    rw [Nat.one_mul, Nat.one_mul, Nat.one_mul, Nat.zero_add, Nat.zero_add, nat_land_zero_left, Nat.zero_add]
  | 0, _ + 1, _, _, _, ha, _ => absurd (Nat.le_of_succ_le_succ ha) (Nat.not_succ_le_zero _)
  | 0, 0, _, _ + 1, _, _, hc => absurd (Nat.le_of_succ_le_succ hc) (Nat.not_succ_le_zero _)
  | k + 1, a, b, c, d, ha, hc => by
    obtain ⟨a0, a1, ha0, ea⟩ := nat_divmod_exists (y := 2) (by decide) a
    obtain ⟨c0, c1, hc0, ec⟩ := nat_divmod_exists (y := 2) (by decide) c
    rw [nat_two_pow_succ] at ha hc ⊢
    rw [ea] at ha ⊢
    rw [ec] at hc ⊢
    have ha1 := nat_lt_of_add_mul_lt ha
    have hc1 := nat_lt_of_add_mul_lt hc
    have e : ∀ x0 x1 y : Nat, x0 + 2 * x1 + 2 * 2 ^ k * y = x0 + 2 * (x1 + 2 ^ k * y) := by
      intro x0 x1 y
      rw [Nat.left_distrib, Nat.add_assoc, Nat.mul_assoc]
    rw [e, e, nat_land_bit _ _ _ _ ha0 hc0, nat_land_lanes k a1 b c1 d ha1 hc1, nat_land_bit _ _ _ _ ha0 hc0,
      Nat.left_distrib, Nat.add_assoc, Nat.mul_assoc]

/-- `0 < 2^k`. -/
theorem nat_two_pow_pos : (k : Nat) → 0 < 2 ^ k
  | 0 => by decide
  | k + 1 => by
    rw [nat_two_pow_succ]
    exact nat_mul_pos (by decide) (nat_two_pow_pos k)

/-- `land a (2^k - 1) = a` for `a < 2^k`: the mask keeps all of `a`. -/
theorem nat_land_low_mask : (k a : Nat) → a < 2 ^ k → Nat.land a (2 ^ k - 1) = a
  | 0, 0, _ => rfl
  | 0, _ + 1, h => absurd (Nat.le_of_succ_le_succ h) (Nat.not_succ_le_zero _)
  | k + 1, a, h => by
    obtain ⟨a0, a1, ha0, ea⟩ := nat_divmod_exists (y := 2) (by decide) a
    rw [nat_two_pow_succ] at h ⊢
    rw [ea] at h ⊢
    have h1 := nat_lt_of_add_mul_lt h
    obtain ⟨m, em⟩ := Nat.exists_eq_add_of_le (nat_two_pow_pos k)
    have e : 2 * 2 ^ k - 1 = 1 + 2 * (2 ^ k - 1) := by
      rw [em, Nat.add_sub_cancel_left, Nat.left_distrib, Nat.mul_one]
      show 2 + 2 * m - 1 = 1 + 2 * m
      rw [Nat.add_comm, Nat.add_comm 1]
      rfl
    rw [e, nat_land_bit a0 a1 1 _ ha0 (by decide), nat_land_low_mask k a1 h1]
    cases a0 with
    | zero => rfl
    | succ a0 => cases a0 with
      | zero => rfl
      | succ a0 => exact absurd (Nat.le_of_succ_le_succ (Nat.le_of_succ_le_succ ha0)) (Nat.not_succ_le_zero a0)

/-- `2^(m + n) = 2^m * 2^n`. -/
theorem nat_two_pow_add (m : Nat) : (n : Nat) → 2 ^ (m + n) = 2 ^ m * 2 ^ n
  | 0 => (Nat.mul_one _).symm
  | n + 1 => by
    show 2 ^ (m + n) * 2 = 2 ^ m * (2 ^ n * 2)
    rw [nat_two_pow_add m n, Nat.mul_assoc]

/-- `land (a + 2^k b) (2^k - 1) = a` for `a < 2^k`: the low `k` bits. -/
theorem nat_land_low (k a b : Nat) (h : a < 2 ^ k) : Nat.land (a + 2 ^ k * b) (2 ^ k - 1) = a := by
  obtain ⟨m, em⟩ := Nat.exists_eq_add_of_le (nat_two_pow_pos k)
  have hm : 2 ^ k - 1 < 2 ^ k := by
    rw [em, Nat.add_sub_cancel_left, Nat.add_comm]; exact Nat.lt_succ_self m
  have e := nat_land_lanes k a b (2 ^ k - 1) 0 h hm
  rw [Nat.mul_zero, Nat.add_zero, nat_land_low_mask k a h, nat_land_zero_right, Nat.mul_zero, Nat.add_zero] at e
  exact e

/-- `shiftRight (a + 2^k b) k = b` for `a < 2^k`. -/
theorem nat_shiftRight_high : (k a b : Nat) → a < 2 ^ k → Nat.shiftRight (a + 2 ^ k * b) k = b
  | 0, 0, b, _ => by
    show 0 + 1 * b = b
    rw [Nat.zero_add, Nat.one_mul]
  | 0, _ + 1, _, h => absurd (Nat.le_of_succ_le_succ h) (Nat.not_succ_le_zero _)
  | k + 1, a, b, h => by
    obtain ⟨a0, a1, ha0, ea⟩ := nat_divmod_exists (nat_two_pow_pos k) a
    have h' : a0 + 2 ^ k * a1 < 2 ^ k * 2 := ea ▸ h
    have ha1 := nat_lt_of_add_mul_lt h'
    have e : a + 2 ^ (k + 1) * b = a0 + 2 ^ k * (a1 + 2 * b) := by
      rw [ea, Nat.left_distrib, Nat.add_assoc, ← Nat.mul_assoc]
      rfl
    show Nat.div (Nat.shiftRight (a + 2 ^ (k + 1) * b) k) 2 = b
    rw [e, nat_shiftRight_high k a0 (a1 + 2 * b) ha0, nat_div_eq 2 a1 b ha1]

/-- Shifting by `j + k` is shifting by `j`, then by `k`. -/
theorem nat_shiftRight_add (x j : Nat) : (k : Nat) → Nat.shiftRight x (j + k) = Nat.shiftRight (Nat.shiftRight x j) k
  | 0 => rfl
  | k + 1 => by
    show Nat.div (Nat.shiftRight x (j + k)) 2 = Nat.div (Nat.shiftRight (Nat.shiftRight x j) k) 2
    rw [nat_shiftRight_add x j k]

/-- `shiftLeft n k = n * 2^k`. -/
theorem nat_shiftLeft_eq : (n k : Nat) → Nat.shiftLeft n k = n * 2 ^ k
  | n, 0 => (Nat.mul_one n).symm
  | n, k + 1 => by
    show Nat.shiftLeft (2 * n) k = n * (2 ^ k * 2)
    rw [nat_shiftLeft_eq (2 * n) k, Nat.mul_comm 2 n, Nat.mul_assoc, Nat.mul_comm 2]

/-- `a + y * b = 0` only for `a = 0` and `b = 0` (`y > 0`). -/
theorem nat_add_mul_eq_zero {a y b : Nat} (hy : 0 < y) (h : a + y * b = 0) : a = 0 ∧ b = 0 := by
  cases b with
  | zero => exact ⟨h, rfl⟩
  | succ b =>
    have : 0 < a + y * (b + 1) := Nat.lt_of_lt_of_le hy (Nat.le_trans (Nat.le_add_left y (y * b)) (Nat.le_add_left _ a))
    rw [h] at this
    exact absurd this (Nat.lt_irrefl 0)

/-- `n / 2 ≤ n`. -/
theorem nat_half_le (n : Nat) : Nat.div n 2 ≤ n := by
  obtain ⟨r, q, hr, e⟩ := nat_divmod_exists (y := 2) (by decide) n
  rw [e, nat_div_eq 2 r q hr]
  exact nat_le_mul_of_lt q hr

end Pytorch2Lean
