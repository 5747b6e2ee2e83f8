/-
IEEE-754 binary32 values, read bit-exactly.

A tensor of float32 values is stored as one natural number: word `i` (bits `32 i` to `32 i + 31`)
holds element `i` in row-major order, so the first element sits in the lowest bits. This is the
little-endian byte string of the tensor read as one number, which is how the exporter writes the
literal (a long one in chunks, see `joinChunks`). Decoding uses shifts and masks only, which the
kernel runs on GMP. That every word of a tensor is finite (`tensorOk`) is proved from a test of all
words at once (`laneTest`, `lanesOk`, `tensorOk_of_lanes`), a few GMP operations however long the
tensor.
-/
import Pytorch2Lean.Q
import Pytorch2Lean.Util

namespace Pytorch2Lean

/-- The number whose base-`2^bits` digits are `cs`, lowest first:
`joinChunks bits [c₀, c₁, c₂, ...] = c₀ + c₁ * 2^bits + c₂ * 2^(2 bits) + ...`.
The exporter writes a long packed tensor this way, each chunk below `2^bits`, since Lean reads
one long numeral in time quadratic in its length but a list of short ones in linear time;
the kernel evaluates it with GMP additions and shifts. -/
def joinChunks (bits : Nat) : List Nat → Nat
  | [] => nat_lit 0
  | c :: cs => Nat.add c (Nat.shiftLeft (joinChunks bits cs) bits)

/-- Word `i` (32 bits) of a packed tensor: `(packed >>> (32*i)) &&& 0xFFFFFFFF`. -/
def word (packed : Nat) (i : Nat) : Nat :=
  Nat.land (Nat.shiftRight packed (Nat.mul (nat_lit 32) i)) (nat_lit 0xFFFFFFFF)

/-- The value `(-1)^s * m * 2^(e - 150)` of a float32 with biased exponent `e ≥ 1`
(for subnormals the caller passes `e = 1` and the fraction field as `m`). -/
def f32Value (s : Bool) (m e : Nat) : Q :=
  cond (Nat.ble (nat_lit 150) e)
    (Q.make s (Nat.mul m (Nat.pow (nat_lit 2) (Nat.sub e (nat_lit 150)))) (nat_lit 1))
    (Q.make s m (Nat.pow (nat_lit 2) (Nat.sub (nat_lit 150) e)))

/-- `true` for the bit pattern of a finite float32: it fits in 32 bits and its exponent field
is not 255 (the exponent of NaN and the infinities, which have no rational value). -/
def finiteF32 (bits : Nat) : Bool :=
  natLt bits (nat_lit 0x100000000) &&
    !(Nat.beq (Nat.land (Nat.shiftRight bits (nat_lit 23)) (nat_lit 0xFF)) (nat_lit 255))

/-- The value given by the fields: sign `s`, biased exponent `e`, fraction `f`. Exponent 0 is
zero or subnormal (`f * 2^-149`); otherwise the value is `(2^23 + f) * 2^(e - 150)`. -/
def f32Fields (s : Bool) (e f : Nat) : Q :=
  cond (Nat.beq e (nat_lit 0)) (f32Value s f (nat_lit 1)) (f32Value s (Nat.add f (nat_lit 0x800000)) e)

/-- The value of a finite float32 bit pattern (sign bit 31, exponent bits 23-30, fraction bits
0-22); `decodeF32` says which patterns are finite. -/
def f32Q (bits : Nat) : Q :=
  f32Fields (Nat.beq (Nat.shiftRight bits (nat_lit 31)) (nat_lit 1))
    (Nat.land (Nat.shiftRight bits (nat_lit 23)) (nat_lit 0xFF)) (Nat.land bits (nat_lit 0x7FFFFF))

/-- The exact value of a float32 bit pattern, or `none` for NaN, ±infinity and numbers that do
not fit in 32 bits. -/
def decodeF32 (bits : Nat) : Option Q := cond (finiteF32 bits) (some (f32Q bits)) none

/-- `word packed lo :: ... :: word packed (lo + k - 1) :: acc`. -/
def wordsDirect (packed lo : Nat) : (k : Nat) → List Nat → List Nat
  | 0, acc => acc
  | k + 1, acc => wordsDirect packed lo k (word packed (Nat.add lo k) :: acc)

/-- `[word packed 0, ..., word packed (n-1)] ++ acc`, computed by halving: the high
`n - n/2` words are split off first (one shift), then both halves are decoded separately, so a
tensor of `n` words costs `O(n log n)` bit operations rather than `n` shifts of the whole
literal. Below 64 words, each word is read directly. `fuel` bounds the halvings. -/
def wordsSplit : (fuel packed n : Nat) → List Nat → List Nat
  | 0, packed, n, acc => wordsDirect packed 0 n acc
  | fuel + 1, packed, n, acc =>
    cond (Nat.ble n (nat_lit 64)) (wordsDirect packed 0 n acc)
      (wordsSplit fuel (Nat.land packed (Nat.sub (Nat.shiftLeft (nat_lit 1)
          (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))) (nat_lit 1))) (Nat.div n (nat_lit 2))
        (wordsSplit fuel (Nat.shiftRight packed (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2))))
          (Nat.sub n (Nat.div n (nat_lit 2))) acc))

/-- The `n` words of a packed tensor, lowest first: `[word packed 0, ..., word packed (n-1)]`. -/
def words (packed n : Nat) : List Nat := wordsSplit (Nat.add (Nat.log2 n) (nat_lit 1)) packed n []

/-- `f (word packed lo) && ... && f (word packed (lo + k - 1))`: `wordsDirect` checked by `f`
without building the list (`all_wordsDirect`), which takes the kernel a third less time. -/
def allWordsDirect (f : Nat → Bool) (packed lo : Nat) : Nat → Bool
  | 0 => true
  | k + 1 => allWordsDirect f packed lo k && f (word packed (Nat.add lo k))

/-- `wordsSplit` checked by `f` without building the list (`all_wordsSplit`): the same halving,
then `allWordsDirect` on each piece of at most 64 words. -/
def allWordsSplit (f : Nat → Bool) : (fuel packed n : Nat) → Bool
  | 0, packed, n => allWordsDirect f packed 0 n
  | fuel + 1, packed, n =>
    cond (Nat.ble n (nat_lit 64)) (allWordsDirect f packed 0 n)
      (allWordsSplit f fuel (Nat.land packed (Nat.sub (Nat.shiftLeft (nat_lit 1)
          (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))) (nat_lit 1))) (Nat.div n (nat_lit 2)) &&
        allWordsSplit f fuel (Nat.shiftRight packed (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2))))
          (Nat.sub n (Nat.div n (nat_lit 2))))

/-- The low `n / 2` words of a packed tensor of `n` words: the piece `wordsSplit` and
`allWordsSplit` split off first (`word_lowWords`). -/
def lowWords (packed n : Nat) : Nat :=
  Nat.land packed (Nat.sub (Nat.shiftLeft (nat_lit 1) (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))) (nat_lit 1))

/-- The high `n - n / 2` words of a packed tensor of `n` words: the other piece (`word_highWords`). -/
def highWords (packed n : Nat) : Nat := Nat.shiftRight packed (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))

/-- `&&` regrouped, for moving a check across the accumulator. -/
private theorem and_assoc (a b c : Bool) : ((a && b) && c) = (a && (b && c)) := by
  cases a <;> rfl

/-- Checking the words `wordsDirect` puts in front of `acc` is `allWordsDirect`. -/
theorem all_wordsDirect (f : Nat → Bool) (packed lo : Nat) : (k : Nat) → (acc : List Nat) →
    (wordsDirect packed lo k acc).all f = (allWordsDirect f packed lo k && acc.all f)
  | 0, _ => rfl
  | k + 1, acc =>
    (all_wordsDirect f packed lo k (word packed (Nat.add lo k) :: acc)).trans (and_assoc _ _ _).symm

/-- Checking the words `wordsSplit` puts in front of `acc` is `allWordsSplit`. -/
theorem all_wordsSplit (f : Nat → Bool) : (fuel packed n : Nat) → (acc : List Nat) →
    (wordsSplit fuel packed n acc).all f = (allWordsSplit f fuel packed n && acc.all f)
  | 0, packed, n, acc => all_wordsDirect f packed 0 n acc
  | fuel + 1, packed, n, acc => by
    unfold wordsSplit allWordsSplit
    cases Nat.ble n (nat_lit 64) with
    | true => exact all_wordsDirect f packed 0 n acc
    | false =>
      exact (all_wordsSplit f fuel _ _ _).trans
        ((congrArg _ (all_wordsSplit f fuel _ _ acc)).trans (and_assoc _ _ _).symm)

/-- `true` when `packed` holds exactly `n` finite float32 values: no bits beyond the `32 n`
that hold the tensor, and no NaN or infinity among them; `tensorOk_eq` states it with `words`. -/
def tensorOk (packed n : Nat) : Bool :=
  Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) &&
    allWordsSplit finiteF32 (Nat.add (Nat.log2 n) (nat_lit 1)) packed n

/-- `tensorOk` from its two parts, each proved on its own (the words' check by
`allWordsSplit_of_forall`, see `tensorOk_of_lanes`). -/
theorem tensorOk_of (packed n : Nat)
    (high : Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) = true)
    (ws : allWordsSplit finiteF32 (Nat.add (Nat.log2 n) (nat_lit 1)) packed n = true) : tensorOk packed n = true :=
  (congrArg₂ (· && ·) high ws).trans rfl

/-- What `tensorOk` checks, read plainly: the high bits are zero and every word is finite. -/
theorem tensorOk_eq (packed n : Nat) : tensorOk packed n =
    (Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) && (words packed n).all finiteF32) :=
  congrArg _ ((all_wordsSplit finiteF32 _ packed n []).trans (bool_and_true _)).symm

/-- Word 0 of `w + 2^32 x` is `w` (`w < 2^32`). -/
theorem word_zero (w x : Nat) (hw : w < 2 ^ 32) : word (w + 2 ^ 32 * x) 0 = w :=
  nat_land_low 32 w x hw

/-- Word `i + 1` of `w + 2^32 x` is word `i` of `x` (`w < 2^32`). -/
theorem word_succ (w x i : Nat) (hw : w < 2 ^ 32) : word (w + 2 ^ 32 * x) (i + 1) = word x i := by
  show Nat.land (Nat.shiftRight (w + 2 ^ 32 * x) (Nat.mul 32 i + 32)) 0xFFFFFFFF = word x i
  rw [nat_add_comm (Nat.mul 32 i), nat_shiftRight_add, nat_shiftRight_high 32 w x hw]
  rfl

/-- Word `i` does not see what is added above it. -/
theorem word_add_high (a b i : Nat) : word (a + 2 ^ (Nat.mul 32 i + 32) * b) i = word a i := by
  obtain ⟨a0, a1, ha0, ea⟩ := nat_divmod_exists (nat_two_pow_pos (Nat.mul 32 i)) a
  obtain ⟨c0, c1, hc0, ec⟩ := nat_divmod_exists (nat_two_pow_pos 32) a1
  have e : a + 2 ^ (Nat.mul 32 i + 32) * b = a0 + 2 ^ (Nat.mul 32 i) * (c0 + 2 ^ 32 * (c1 + b)) := by
    rw [ea, ec, nat_two_pow_add, nat_left_distrib, nat_left_distrib, nat_left_distrib, nat_mul_assoc, nat_add_assoc,
      nat_add_assoc, nat_left_distrib (2 ^ Nat.mul 32 i)]
  show Nat.land (Nat.shiftRight (a + 2 ^ (Nat.mul 32 i + 32) * b) (Nat.mul 32 i)) (2 ^ 32 - 1) =
    Nat.land (Nat.shiftRight a (Nat.mul 32 i)) (2 ^ 32 - 1)
  rw [e, ea, ec, nat_shiftRight_high _ _ _ ha0, nat_shiftRight_high _ _ _ ha0, nat_land_low 32 c0 _ hc0, nat_land_low 32 c0 _ hc0]


/-- The low half keeps the words below it. -/
theorem word_lowWords (x n i : Nat) (hi : i < Nat.div n 2) : word (lowWords x n) i = word x i := by
  obtain ⟨a, b, ha, e⟩ := nat_divmod_exists (nat_two_pow_pos (Nat.mul 32 (Nat.div n 2))) x
  obtain ⟨j, ej⟩ := nat_exists_eq_add_of_lt hi
  have el : lowWords x n = a := by
    show Nat.land x (Nat.sub (Nat.shiftLeft 1 (Nat.mul 32 (Nat.div n 2))) 1) = a
    rw [nat_shiftLeft_eq, nat_one_mul, e]
    exact nat_land_low _ a b ha
  have eh : 2 ^ Nat.mul 32 (Nat.div n 2) * b = 2 ^ (Nat.mul 32 i + 32) * (2 ^ Nat.mul 32 j * b) := by
    rw [ej, ← nat_mul_assoc, ← nat_two_pow_add]
    show 2 ^ (32 * (i + j + 1)) * b = 2 ^ (32 * i + 32 + 32 * j) * b
    rw [nat_left_distrib, nat_left_distrib, nat_mul_one, nat_add_right_comm]
  rw [el, e, eh, word_add_high]

/-- The high half's words are the words past the low half. -/
theorem word_highWords (x n i : Nat) : word (highWords x n) i = word x (Nat.add (Nat.div n 2) i) := by
  show Nat.land (Nat.shiftRight (Nat.shiftRight x (Nat.mul 32 (Nat.div n 2))) (Nat.mul 32 i)) 0xFFFFFFFF =
    Nat.land (Nat.shiftRight x (Nat.mul 32 (Nat.add (Nat.div n 2) i))) 0xFFFFFFFF
  rw [← nat_shiftRight_add]
  show Nat.land (Nat.shiftRight x (32 * (Nat.div n 2) + 32 * i)) 0xFFFFFFFF =
    Nat.land (Nat.shiftRight x (32 * (Nat.div n 2 + i))) 0xFFFFFFFF
  rw [nat_left_distrib]

/-- `allWordsDirect f` holds when `f` holds of every word it reads. -/
theorem allWordsDirect_of_forall (f : Nat → Bool) (x lo : Nat) :
    (k : Nat) → (∀ i, i < k → f (word x (Nat.add lo i)) = true) → allWordsDirect f x lo k = true
  | 0, _ => rfl
  | k + 1, h => by
    show (allWordsDirect f x lo k && f (word x (Nat.add lo k))) = true
    rw [allWordsDirect_of_forall f x lo k (fun i hi => h i (nat_le_trans hi (nat_le_succ _))), h k (nat_lt_succ_self k)]
    rfl

/-- `allWordsSplit f` holds when `f` holds of every word below `n`. -/
theorem allWordsSplit_of_forall (f : Nat → Bool) : (fuel x n : Nat) →
    (∀ i, i < n → f (word x i) = true) → allWordsSplit f fuel x n = true
  | 0, x, n, h => allWordsDirect_of_forall f x 0 n (fun i hi => by rw [nat_add_eq, nat_zero_add]; exact h i hi)
  | fuel + 1, x, n, h => by
    have hd := allWordsDirect_of_forall f x 0 n (fun i hi => by rw [nat_add_eq, nat_zero_add]; exact h i hi)
    unfold allWordsSplit
    cases Nat.ble n 64 with
    | true => exact hd
    | false =>
      have hlo := allWordsSplit_of_forall f fuel (lowWords x n) (Nat.div n 2) (fun i hi => by
        rw [word_lowWords x n i hi]; exact h i (nat_lt_of_lt_of_le hi (nat_half_le n)))
      have hhi := allWordsSplit_of_forall f fuel (highWords x n) (Nat.sub n (Nat.div n 2)) (fun i hi => by
        rw [word_highWords x n i]
        apply h
        have e : Nat.div n 2 + Nat.sub n (Nat.div n 2) = n := by
          rw [nat_add_comm]; exact nat_sub_add_cancel (nat_half_le n)
        have h2 := nat_add_lt_add_left hi (Nat.div n 2)
        rw [e] at h2
        exact h2)
      show (allWordsSplit f fuel (lowWords x n) (Nat.div n 2) && allWordsSplit f fuel (highWords x n) (Nat.sub n (Nat.div n 2))) = true
      rw [hlo, hhi]
      rfl

/-- `Σ_{i<n} 2^(32 i)`: a 1 in each of `n` lanes of 32 bits (what `lanes` computes, stated plainly). -/
def laneOnes : Nat → Nat
  | 0 => 0
  | n + 1 => 1 + 2 ^ 32 * laneOnes n

/-- `(2^32 - 1) * laneOnes n = 2^(32 n) - 1`, written without subtraction. -/
theorem laneOnes_mul (n : Nat) : 0xFFFFFFFF * laneOnes n + 1 = 2 ^ Nat.mul 32 n := by
  induction n with
  | zero => rfl
  | succ n ih =>
    show 0xFFFFFFFF * (1 + 2 ^ 32 * laneOnes n) + 1 = 2 ^ (Nat.mul 32 n + 32)
    rw [nat_two_pow_add, ← ih, nat_left_distrib, nat_mul_one, nat_mul_left_comm, nat_add_right_comm,
      nat_right_distrib, nat_one_mul, nat_mul_comm _ (2 ^ 32), nat_add_comm]

/-- `c` in each of `n` lanes of 32 bits: `c * (2^(32 n) - 1) / (2^32 - 1)`, a few GMP operations
however many lanes (`lanes_eq`). -/
def lanes (c n : Nat) : Nat :=
  Nat.mul c (Nat.div (Nat.sub (Nat.shiftLeft (nat_lit 1) (Nat.mul (nat_lit 32) n)) (nat_lit 1)) (nat_lit 0xFFFFFFFF))

/-- `lanes c n` is `c` in each of `n` lanes. -/
theorem lanes_eq (c n : Nat) : lanes c n = c * laneOnes n := by
  show c * Nat.div (Nat.shiftLeft 1 (Nat.mul 32 n) - 1) 0xFFFFFFFF = _
  rw [nat_shiftLeft_eq, nat_one_mul, ← laneOnes_mul, nat_add_sub_cancel, ← nat_zero_add (0xFFFFFFFF * laneOnes n),
    nat_div_eq _ 0 _ (by decide)]

/-- `lanes` one lane at a time, lowest first. -/
theorem lanes_succ (c n : Nat) : lanes c (n + 1) = c + 2 ^ 32 * lanes c n := by
  rw [lanes_eq, lanes_eq]
  show c * (1 + 2 ^ 32 * laneOnes n) = _
  rw [nat_left_distrib, nat_mul_one, nat_mul_left_comm]


/-- Zero exactly when no word below `n` of `packed` has exponent field 255 (NaN or infinity),
checked in all lanes at once: each word's low 31 bits plus `2^23` carry into bit 31 exactly when
its exponent field (bits 23-30) is all ones; a lane stays below `2^32`, so no carry crosses into
the next lane. `finiteF32_of_laneTest` proves the direction a proof needs (zero, so every word is
finite); the other (every word finite, so zero: a valid export passes) is tested on the Python
twin, `encode.lane_test`. -/
def laneTest (packed n : Nat) : Nat :=
  Nat.land (Nat.add (Nat.land packed (lanes (nat_lit 0x7FFFFFFF) n)) (lanes (nat_lit 0x800000) n))
    (lanes (nat_lit 0x80000000) n)

/-- `laneTest` of a single word. -/
def laneTest1 (w : Nat) : Nat := Nat.land (Nat.add (Nat.land w 0x7FFFFFFF) 0x800000) 0x80000000

/-- The low 31 bits of a number are below `2^31`. -/
theorem lowBits31_lt (w : Nat) : Nat.land w 0x7FFFFFFF < 2 ^ 31 := by
  obtain ⟨a, s, ha, e⟩ := nat_divmod_exists (nat_two_pow_pos 31) w
  rw [e]
  show Nat.land (a + 2 ^ 31 * s) (2 ^ 31 - 1) < 2 ^ 31
  rw [nat_land_low 31 a s ha]
  exact ha

/-- `laneTest` one lane at a time: no carry crosses a lane, since each lane of the sum stays
below `2^32`. -/
theorem laneTest_succ (w x n : Nat) (hw : w < 2 ^ 32) :
    laneTest (w + 2 ^ 32 * x) (n + 1) = laneTest1 w + 2 ^ 32 * laneTest x n := by
  unfold laneTest
  rw [lanes_succ, lanes_succ, lanes_succ, nat_land_lanes 32 w x _ _ hw (by decide)]
  have e : Nat.add (Nat.land w 0x7FFFFFFF + 2 ^ 32 * Nat.land x (lanes 0x7FFFFFFF n)) (0x800000 + 2 ^ 32 * lanes 0x800000 n) =
      Nat.add (Nat.land w 0x7FFFFFFF) 0x800000 + 2 ^ 32 * Nat.add (Nat.land x (lanes 0x7FFFFFFF n)) (lanes 0x800000 n) := by
    rw [nat_add_eq, nat_add_eq, nat_add_eq, nat_left_distrib, nat_add_assoc, nat_add_assoc,
      nat_add_left_comm (2 ^ 32 * _)]
  have hl : Nat.add (Nat.land w 0x7FFFFFFF) 0x800000 < 2 ^ 32 := by
    have h1 : Nat.land w 0x7FFFFFFF + 0x800000 + 1 ≤ 2 ^ 31 + 0x800000 := by
      rw [nat_add_right_comm]; exact nat_add_le_add_right (lowBits31_lt w) _
    exact nat_le_trans h1 (by decide)
  rw [e, nat_land_lanes 32 _ _ _ _ hl (by decide)]
  rfl


/-- A word whose `laneTest1` is zero is a finite float32. -/
theorem finiteF32_of_laneTest1 (w : Nat) (hw : w < 2 ^ 32) (h : laneTest1 w = 0) : finiteF32 w = true := by
  obtain ⟨a, s, ha, ew⟩ := nat_divmod_exists (nat_two_pow_pos 31) w
  have hlow : Nat.land w 0x7FFFFFFF = a := by
    rw [ew]; exact nat_land_low 31 a s ha
  -- the exponent test: `a + 2^23 < 2^31`
  obtain ⟨v0, t, hv0, ev⟩ := nat_divmod_exists (nat_two_pow_pos 31) (a + 0x800000)
  have ht2 : t < 2 := by
    have h1 : v0 + 2 ^ 31 * t < 2 ^ 31 * 2 := by
      rw [← ev]
      have h2 : a + 0x800000 + 1 ≤ 2 ^ 31 + 0x800000 := by
        rw [nat_add_right_comm]; exact nat_add_le_add_right ha _
      exact nat_le_trans h2 (by decide)
    exact nat_lt_of_add_mul_lt h1
  have ht : t = 0 := by
    have e1 : laneTest1 w = Nat.land (v0 + 2 ^ 31 * t) (0 + 2 ^ 31 * 1) := by
      show Nat.land (Nat.add (Nat.land w 0x7FFFFFFF) 0x800000) 0x80000000 = _
      rw [hlow, nat_add_eq, ev]
    rw [e1, nat_land_lanes 31 v0 t 0 1 hv0 (nat_two_pow_pos 31), nat_land_zero_right, nat_zero_add] at h
    have h2 := (nat_add_mul_eq_zero (a := 0) (nat_two_pow_pos 31) ((nat_zero_add _).trans h)).2
    cases t with
    | zero => rfl
    | succ t => cases t with
      | zero => exact absurd h2 (by decide)
      | succ t => exact absurd (nat_le_of_succ_le_succ (nat_le_of_succ_le_succ ht2)) (nat_not_succ_le_zero t)
  rw [ht, nat_mul_zero, nat_add_zero] at ev
  -- the exponent field `e` of `w = f + 2^23 (e + 2^8 s)`
  obtain ⟨f, e, hf, ea⟩ := nat_divmod_exists (nat_two_pow_pos 23) a
  have he : e < 255 := by
    have h1 : 2 ^ 23 * (e + 1) < 2 ^ 23 * 256 := by
      have h2 : a + 0x800000 < 2 ^ 31 := ev ▸ hv0
      rw [ea] at h2
      have h3 : f + 2 ^ 23 * e + 2 ^ 23 < 2 ^ 23 * 256 := h2
      have h4 : 2 ^ 23 * e + 2 ^ 23 ≤ f + 2 ^ 23 * e + 2 ^ 23 := nat_add_le_add_right (nat_le_add_left _ f) _
      exact nat_lt_of_le_of_lt h4 h3
    exact nat_le_of_succ_le_succ (nat_lt_of_mul_lt_mul_left h1)
  have hw' : w = f + 2 ^ 23 * (e + 2 ^ 8 * s) := by
    rw [ew, ea, nat_left_distrib, nat_add_assoc, ← nat_mul_assoc]
  have hfield : Nat.land (Nat.shiftRight w 23) 0xFF = e := by
    rw [hw', nat_shiftRight_high 23 f _ hf]
    exact nat_land_low 8 e s (nat_lt_trans he (by decide))
  show (natLt w 0x100000000 && !(Nat.beq (Nat.land (Nat.shiftRight w 23) 0xFF) 255)) = true
  rw [hfield]
  have hlt : natLt w 0x100000000 = true := nat_ble_eq_true_of_le hw
  rw [hlt]
  cases hb : Nat.beq e 255 with
  | false => rfl
  | true => exact absurd (nat_eq_of_beq_eq_true hb ▸ he) (nat_lt_irrefl 255)


/-- A packed number whose `laneTest` over `n` lanes is zero has finite float32 words below `n`. -/
theorem finiteF32_of_laneTest : (n x : Nat) → laneTest x n = 0 → ∀ i, i < n → finiteF32 (word x i) = true
  | 0, _, _, _, hi => absurd hi (nat_not_succ_le_zero _)
  | n + 1, x, h, i, hi => by
    obtain ⟨w, x', hw, ex⟩ := nat_divmod_exists (nat_two_pow_pos 32) x
    rw [ex, laneTest_succ w x' n hw] at h
    have h2 := nat_add_mul_eq_zero (nat_two_pow_pos 32) h
    rw [ex]
    cases i with
    | zero => rw [word_zero w x' hw]; exact finiteF32_of_laneTest1 w hw h2.1
    | succ i => rw [word_succ w x' i hw]; exact finiteF32_of_laneTest n x' h2.2 i (nat_le_of_succ_le_succ hi)

/-- `true` when `packed` has no bits beyond the `32 n` of a tensor of `n` words and `laneTest`
finds no NaN or infinity among them: the premise of `tensorOk_of_lanes`, one kernel evaluation of
a few GMP operations however long the tensor (the literal is evaluated once for both parts). -/
def lanesOk (packed n : Nat) : Bool :=
  Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) && Nat.beq (laneTest packed n) (nat_lit 0)

/-- `tensorOk` from `lanesOk`: this is how an export's `Params.lean` proves each parameter's
`tensorOk` (the word-by-word `allWordsSplit` costs the kernel about 0.1 ms per value). -/
theorem tensorOk_of_lanes (packed n : Nat) (h : lanesOk packed n = true) : tensorOk packed n = true := by
  unfold lanesOk at h
  cases hh : Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) with
  | false => rw [hh] at h; exact absurd h (fun e => Bool.noConfusion e)
  | true =>
    rw [hh] at h
    exact tensorOk_of packed n hh (allWordsSplit_of_forall finiteF32 _ packed n
      (finiteF32_of_laneTest n packed (nat_eq_of_beq_eq_true h)))

/-- The `n` float32 values packed in `packed` (see `word`), exactly; `none` unless `tensorOk`. -/
def decodeTensor (packed n : Nat) : Option (List Q) :=
  cond (tensorOk packed n) (some ((words packed n).map f32Q)) none

/-- Every packed tensor `(literal, count)` of the list, decoded; `none` if one fails. -/
def decodeAll (packed : List (Nat × Nat)) : Option (List (List Q)) :=
  allSome (packed.map (fun p => decodeTensor p.1 p.2))

end Pytorch2Lean
