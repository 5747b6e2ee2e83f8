/-
The project's own facts about `Nat` and `Bool`, proved from the few core lemmas that both the
substitute core library and real Lean 4 provide (so that the library checks against either).
`QOrder` rests on them: monotonicity and cancellation of `+` and `*` on `Nat`, which core lacks
in the substitute and names differently across versions.
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

/-- `b && true = b`. -/
theorem bool_and_true : ∀ (b : Bool), (b && true) = b := Bool.and_true

end Pytorch2Lean
