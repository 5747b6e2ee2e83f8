/-
IEEE-754 binary32 values, read bit-exactly.

A tensor of float32 values is stored as one natural number: word `i` (bits `32 i` to `32 i + 31`)
holds element `i` in row-major order, so the first element sits in the lowest bits. This is the
little-endian byte string of the tensor read as one number, which is how the exporter writes the
literal (a long one in chunks, see `joinChunks`). Decoding uses shifts and masks only, which the
kernel runs on GMP.
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
`allWordsSplit` split off first. -/
def lowWords (packed n : Nat) : Nat :=
  Nat.land packed (Nat.sub (Nat.shiftLeft (nat_lit 1) (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))) (nat_lit 1))

/-- The high `n - n / 2` words of a packed tensor of `n` words: the other piece. -/
def highWords (packed n : Nat) : Nat := Nat.shiftRight packed (Nat.mul (nat_lit 32) (Nat.div n (nat_lit 2)))

/-- `allWordsSplit` past 64 words is its check of both halves, so a big tensor's check can be
proved piece by piece, each piece one kernel evaluation (`Params.lean` of an export). -/
theorem allWordsSplit_halves (f : Nat → Bool) (fuel packed n : Nat) (hn : Nat.ble n (nat_lit 64) = false)
    (lo : allWordsSplit f fuel (lowWords packed n) (Nat.div n (nat_lit 2)) = true)
    (hi : allWordsSplit f fuel (highWords packed n) (Nat.sub n (Nat.div n (nat_lit 2))) = true) :
    allWordsSplit f (Nat.succ fuel) packed n = true := by
  unfold allWordsSplit
  rw [hn]
  exact (congrArg₂ (· && ·) lo hi).trans rfl

/-- Two right shifts are one, by the sum. Core and the substitute both define `Nat.shiftRight` by
halving once per unit of its second argument, so this holds by that recursion alone. -/
theorem shiftRight_shiftRight (p a : Nat) : (b : Nat) →
    Nat.shiftRight (Nat.shiftRight p a) b = Nat.shiftRight p (Nat.add a b)
  | 0 => rfl
  | b + 1 => congrArg (· / 2) (shiftRight_shiftRight p a b)

/-- `&&` regrouped, for moving a check across the accumulator. -/
private theorem and_assoc (a b c : Bool) : ((a && b) && c) = (a && (b && c)) := by
  cases a <;> rfl

/-- `allWordsDirect` from its first word rather than its last. -/
theorem allWordsDirect_front (f : Nat → Bool) (packed lo : Nat) : (k : Nat) →
    allWordsDirect f packed lo (k + 1) = (f (word packed lo) && allWordsDirect f packed (lo + 1) k)
  | 0 => (bool_and_true _).symm
  | k + 1 => by
    show (allWordsDirect f packed lo (k + 1) && f (word packed (lo + k + 1))) =
      (f (word packed lo) && (allWordsDirect f packed (lo + 1) k && f (word packed (lo + 1 + k))))
    rw [allWordsDirect_front f packed lo k, and_assoc, nat_succ_add lo k]

/-- `allWordsDirect finiteF32 packed lo k` as the kernel evaluates it for a tensor's words: the word
at the bottom of `packed >>> 32 lo` is checked, then the literal shifts right by one word, with
`finiteF32` and `word` unfolded and the loop written with `Nat.rec` (no `brecOn` tables). Fewer
kernel steps per word than the plain form, which `finiteWordsRec_eq` shows it equals. -/
noncomputable def finiteWordsRec (k : Nat) : Nat → Bool :=
  Nat.rec (motive := fun _ => Nat → Bool) (fun _ => true)
    (fun _ ih p => (fun w => Nat.ble (Nat.succ w) (nat_lit 0x100000000) &&
        !(Nat.beq (Nat.land (Nat.shiftRight w (nat_lit 23)) (nat_lit 0xFF)) (nat_lit 255)))
      (Nat.land p (nat_lit 0xFFFFFFFF)) && ih (Nat.shiftRight p (nat_lit 32))) k

theorem finiteWordsRec_eq (packed : Nat) : (k lo : Nat) →
    finiteWordsRec k (Nat.shiftRight packed (Nat.mul (nat_lit 32) lo)) = allWordsDirect finiteF32 packed lo k
  | 0, _ => rfl
  | k + 1, lo => by
    show (finiteF32 (word packed lo) &&
        finiteWordsRec k (Nat.shiftRight (Nat.shiftRight packed (Nat.mul (nat_lit 32) lo)) (nat_lit 32))) = _
    rw [shiftRight_shiftRight, allWordsDirect_front]
    exact congrArg _ (finiteWordsRec_eq packed k (lo + 1))

/-- `allWordsSplit finiteF32` with `finiteWordsRec` on each piece, written with `Nat.rec`: what an
export's decode theorems have the kernel evaluate (`allWordsSplit_of_rec`). -/
noncomputable def finiteSplitRec (fuel : Nat) : Nat → Nat → Bool :=
  Nat.rec (motive := fun _ => Nat → Nat → Bool) (fun packed n => finiteWordsRec n packed)
    (fun _ ih packed n => cond (Nat.ble n (nat_lit 64)) (finiteWordsRec n packed)
      (ih (lowWords packed n) (Nat.div n (nat_lit 2)) && ih (highWords packed n) (Nat.sub n (Nat.div n (nat_lit 2)))))
    fuel

theorem finiteSplitRec_eq :
    (fuel packed n : Nat) → finiteSplitRec fuel packed n = allWordsSplit finiteF32 fuel packed n
  | 0, packed, n => finiteWordsRec_eq packed n 0
  | fuel + 1, packed, n => by
    show cond (Nat.ble n (nat_lit 64)) (finiteWordsRec n packed)
        (finiteSplitRec fuel (lowWords packed n) (Nat.div n (nat_lit 2)) &&
          finiteSplitRec fuel (highWords packed n) (Nat.sub n (Nat.div n (nat_lit 2)))) =
      cond (Nat.ble n (nat_lit 64)) (allWordsDirect finiteF32 packed 0 n)
        (allWordsSplit finiteF32 fuel (lowWords packed n) (Nat.div n (nat_lit 2)) &&
          allWordsSplit finiteF32 fuel (highWords packed n) (Nat.sub n (Nat.div n (nat_lit 2))))
    rw [← finiteWordsRec_eq packed n 0, finiteSplitRec_eq fuel, finiteSplitRec_eq fuel]
    rfl

/-- An `allWordsSplit finiteF32` check proved by evaluating `finiteSplitRec`. -/
theorem allWordsSplit_of_rec {fuel packed n : Nat} (h : finiteSplitRec fuel packed n = true) :
    allWordsSplit finiteF32 fuel packed n = true :=
  (finiteSplitRec_eq fuel packed n).symm.trans h

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

/-- `tensorOk` from its two parts, each proved on its own (the words' check in pieces, by
`allWordsSplit_halves`). -/
theorem tensorOk_of (packed n : Nat)
    (high : Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) = true)
    (ws : allWordsSplit finiteF32 (Nat.add (Nat.log2 n) (nat_lit 1)) packed n = true) : tensorOk packed n = true :=
  (congrArg₂ (· && ·) high ws).trans rfl

/-- What `tensorOk` checks, read plainly: the high bits are zero and every word is finite. -/
theorem tensorOk_eq (packed n : Nat) : tensorOk packed n =
    (Nat.beq (Nat.shiftRight packed (Nat.mul (nat_lit 32) n)) (nat_lit 0) && (words packed n).all finiteF32) :=
  congrArg _ ((all_wordsSplit finiteF32 _ packed n []).trans (bool_and_true _)).symm

/-- The `n` float32 values packed in `packed` (see `word`), exactly; `none` unless `tensorOk`. -/
def decodeTensor (packed n : Nat) : Option (List Q) :=
  cond (tensorOk packed n) (some ((words packed n).map f32Q)) none

/-- Every packed tensor `(literal, count)` of the list, decoded; `none` if one fails. -/
def decodeAll (packed : List (Nat × Nat)) : Option (List (List Q)) :=
  allSome (packed.map (fun p => decodeTensor p.1 p.2))

end Pytorch2Lean
