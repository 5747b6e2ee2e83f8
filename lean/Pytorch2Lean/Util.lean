/-
Small list and option helpers used by the checker and the denotation, with the lemmas their
soundness proofs need. All are structurally recursive, so the kernel evaluates them directly.
-/
import Pytorch2Lean.Lemmas

namespace Pytorch2Lean

/-- Decidable equality of options (the substitute core library has none). -/
instance decEqOption {α : Type} [DecidableEq α] : DecidableEq (Option α)
  | none, none => isTrue rfl
  | some a, some b =>
    match decEq a b with
    | isTrue h => isTrue (h ▸ rfl)
    | isFalse h => isFalse (fun e => Option.noConfusion rfl (heq_of_eq e) (fun e' => h (eq_of_heq e')))
  | none, some _ => isFalse (fun e => Option.noConfusion rfl (heq_of_eq e))
  | some _, none => isFalse (fun e => Option.noConfusion rfl (heq_of_eq e))

end Pytorch2Lean

namespace Pytorch2Lean

/-- `some` of all values when every entry is `some`, otherwise `none`. -/
def allSome {α : Type} : List (Option α) → Option (List α)
  | [] => some []
  | none :: _ => none
  | some a :: rest =>
    match allSome rest with
    | some as => some (a :: as)
    | none => none

/-- `a < b` on natural numbers, as a kernel-accelerated `Bool`. -/
def natLt (a b : Nat) : Bool := Nat.ble (Nat.succ a) b

/-- The larger of two natural numbers. -/
def natMax (a b : Nat) : Nat := cond (Nat.ble a b) b a

/-- `true` for the empty list. -/
def isNil {α : Type} : List α → Bool
  | [] => true
  | _ => false

/-- The concatenation of a list of lists. Exported models write long lists as lists of chunks:
Lean elaborates a list literal recursively, one level per element. -/
def concatLists {α : Type} : List (List α) → List α
  | [] => []
  | l :: ls => l ++ concatLists ls

/-- Element `i` of a list, if there is one. -/
def nth {α : Type} : List α → Nat → Option α
  | [], _ => none
  | a :: _, 0 => some a
  | _ :: as, i + 1 => nth as i

/-- Element `i` of a list, or `d` past its end. -/
def nthD {α : Type} (l : List α) (i : Nat) (d : α) : α := (nth l i).getD d

/-- `true` when the natural number `a` occurs in `l`. -/
def memNat (a : Nat) : List Nat → Bool
  | [] => false
  | b :: bs => Nat.beq a b || memNat a bs

/-- `true` when no natural number occurs twice in `l`. -/
def nodupNat : List Nat → Bool
  | [] => true
  | a :: as => !(memNat a as) && nodupNat as

/-- `true` when `p k` holds for every `k < n`. -/
def allBelow (n : Nat) (p : Nat → Bool) : Bool :=
  match n with
  | 0 => true
  | k + 1 => allBelow k p && p k

/-- The product of a list of natural numbers (1 for the empty list). -/
def prod : List Nat → Nat
  | [] => nat_lit 1
  | a :: as => Nat.mul a (prod as)

/-- A list without repeated elements. -/
inductive Nodup {α : Type} : List α → Prop
  | nil : Nodup []
  | cons {a : α} {as : List α} : ¬ a ∈ as → Nodup as → Nodup (a :: as)

/-- Both sides of a true `&&` are true. -/
theorem and_true_split {a b : Bool} (h : (a && b) = true) : a = true ∧ b = true := by
  cases a <;> cases b <;> first | exact ⟨rfl, rfl⟩ | exact Bool.noConfusion h

/-- One side of a true `||` is true. -/
theorem or_true_split {a b : Bool} (h : (a || b) = true) : a = true ∨ b = true := by
  cases a <;> cases b <;> first | exact Or.inl rfl | exact Or.inr rfl | exact Bool.noConfusion h

/-- `!a = true` means `a = false`. -/
theorem not_true_false {a : Bool} (h : (!a) = true) : a = false := by
  cases a <;> first | rfl | exact Bool.noConfusion h

/-- `List.all` is true only when the predicate holds for every element. -/
theorem all_sound {α : Type} {p : α → Bool} :
    (l : List α) → l.all p = true → ∀ x, x ∈ l → p x = true
  | [], _, _, hx => nomatch hx
  | a :: as, h, x, hx => by
    have h2 := and_true_split h
    cases hx with
    | head => exact h2.1
    | tail _ hx' => exact all_sound as h2.2 x hx'

/-- `List.any` is true only when the predicate holds for some element. -/
theorem any_sound {α : Type} {p : α → Bool} :
    (l : List α) → l.any p = true → ∃ x, x ∈ l ∧ p x = true
  | [], h => Bool.noConfusion h
  | a :: as, h => by
    cases or_true_split h with
    | inl h1 => exact ⟨a, List.Mem.head as, h1⟩
    | inr h1 =>
      obtain ⟨x, hx, px⟩ := any_sound as h1
      exact ⟨x, List.Mem.tail a hx, px⟩

/-- `memNat` finds only members. -/
theorem memNat_sound {a : Nat} : (l : List Nat) → memNat a l = true → a ∈ l
  | [], h => Bool.noConfusion h
  | b :: bs, h => by
    cases or_true_split h with
    | inl h1 => rw [nat_eq_of_beq_eq_true h1]; exact List.Mem.head bs
    | inr h1 => exact List.Mem.tail b (memNat_sound bs h1)

/-- `memNat` finds every member. -/
theorem memNat_complete {a : Nat} : {l : List Nat} → a ∈ l → memNat a l = true
  | _ :: bs, List.Mem.head _ => by
    show (Nat.beq a a || memNat a bs) = true
    rw [nat_beq_refl]; rfl
  | b :: _, List.Mem.tail _ h => by
    show (Nat.beq a b || _) = true
    rw [memNat_complete h]; cases Nat.beq a b <;> rfl

/-- `nodupNat` accepts only lists without repeats. -/
theorem nodupNat_sound : (l : List Nat) → nodupNat l = true → Nodup l
  | [], _ => Nodup.nil
  | a :: as, h => by
    have h2 := and_true_split h
    refine Nodup.cons ?_ (nodupNat_sound as h2.2)
    intro hm
    have e := not_true_false h2.1
    rw [memNat_complete hm] at e
    exact Bool.noConfusion e

/-- `allBelow n p` means `p k` for every `k < n`. -/
theorem allBelow_sound {p : Nat → Bool} : (n : Nat) → allBelow n p = true → ∀ k, k < n → p k = true
  | 0, _, k, hk => absurd hk (nat_not_succ_le_zero k)
  | n + 1, h, k, hk => by
    have h2 := and_true_split h
    cases nat_eq_or_lt_of_le (nat_le_of_lt_succ hk) with
    | inl e => rw [e]; exact h2.2
    | inr l => exact allBelow_sound n h2.1 k l

/-- `l ++ [] = l`. -/
theorem list_append_nil {α : Type} : (l : List α) → l ++ [] = l
  | [] => rfl
  | b :: bs => congrArg (b :: ·) (list_append_nil bs)

/-- Length of an append of one element. -/
theorem list_length_snoc {α : Type} (t : α) : (l : List α) → (l ++ [t]).length = l.length + 1
  | [] => rfl
  | _ :: bs => congrArg Nat.succ (list_length_snoc t bs)

/-- An element found by `nth` is at an index below the length. -/
theorem nth_lt {α : Type} : (l : List α) → (i : Nat) → (x : α) → nth l i = some x → i < l.length
  | [], _, _, h => Option.noConfusion rfl (heq_of_eq h)
  | _ :: _, 0, _, _ => nat_succ_pos _
  | _ :: as, i + 1, x, h => nat_succ_le_succ (nth_lt as i x h)

/-- `decide (a = b) = true` means `a = b`. -/
theorem eq_of_decide {α : Type} [DecidableEq α] {a b : α} (h : decide (a = b) = true) : a = b :=
  of_decide_eq_true h

end Pytorch2Lean
