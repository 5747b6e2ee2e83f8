/-
Elementwise enclosure of lists, and how the list functions of the denotation carry it.

`Within lo x hi` says `lo ≤ x ≤ hi` element by element. The interval checker (`CheckIBP.lean`)
runs the denotation's own list functions (`chunks`, `gather`, `broadcastTo`, `zipWithL`, `dot`)
on the stated lower and upper bounds; the lemmas here say that doing so keeps the exact values
enclosed, so each op's soundness is a short composition of them.
-/
import Pytorch2Lean.QOrder
import Pytorch2Lean.WellFormed

namespace Pytorch2Lean

/-- `l ≤ x ≤ h`, all three rationals with positive denominators. -/
def Between (l x h : Q) : Prop := l.WF ∧ x.WF ∧ h.WF ∧ l ≤ x ∧ x ≤ h

/-- Elementwise `lo ≤ x ≤ hi`; the three lists have one length. -/
inductive Within : List Q → List Q → List Q → Prop
  | nil : Within [] [] []
  | cons {l x h : Q} {ls xs hs : List Q} : Between l x h → Within ls xs hs →
      Within (l :: ls) (x :: xs) (h :: hs)

/-- Every element has a positive denominator. -/
def AllWF (l : List Q) : Prop := ∀ q, q ∈ l → q.WF

/-- A point lies between itself and itself. -/
theorem Between.refl {x : Q} (h : x.WF) : Between x x x := ⟨h, h, h, Q.le_refl x, Q.le_refl x⟩

/-- Zero lies between zero and zero. -/
theorem Between.zero : Between Q.zero Q.zero Q.zero := Between.refl Q.zero_wf

/-- Narrowing the ends outward keeps the point enclosed. -/
theorem Between.widen {l l' x h h' : Q} (b : Between l x h) (hl' : l'.WF) (hh' : h'.WF)
    (e1 : l' ≤ l) (e2 : h ≤ h') : Between l' x h' :=
  ⟨hl', b.2.1, hh', Q.le_trans hl' b.1 b.2.1 e1 b.2.2.2.1, Q.le_trans b.2.1 b.2.2.1 hh' b.2.2.2.2 e2⟩

/-- A list between itself and itself. -/
theorem Within.refl : (l : List Q) → AllWF l → Within l l l
  | [], _ => Within.nil
  | a :: as, h => Within.cons (Between.refl (h a (List.Mem.head as)))
      (Within.refl as (fun q hq => h q (List.Mem.tail a hq)))

/-- The lower ends have positive denominators. -/
theorem Within.wf_lo : {lo x hi : List Q} → Within lo x hi → AllWF lo
  | _, _, _, .nil => fun _ hq => nomatch hq
  | _, _, _, .cons b w => fun q hq => by
    cases hq with
    | head => exact b.1
    | tail _ hq' => exact Within.wf_lo w q hq'

/-- The points have positive denominators. -/
theorem Within.wf_x : {lo x hi : List Q} → Within lo x hi → AllWF x
  | _, _, _, .nil => fun _ hq => nomatch hq
  | _, _, _, .cons b w => fun q hq => by
    cases hq with
    | head => exact b.2.1
    | tail _ hq' => exact Within.wf_x w q hq'

/-- The lengths agree (points and lower ends). -/
theorem Within.length_lo : {lo x hi : List Q} → Within lo x hi → x.length = lo.length
  | _, _, _, .nil => rfl
  | _, _, _, .cons _ w => congrArg Nat.succ (Within.length_lo w)

/-- The lengths agree (points and upper ends). -/
theorem Within.length_hi : {lo x hi : List Q} → Within lo x hi → x.length = hi.length
  | _, _, _, .nil => rfl
  | _, _, _, .cons _ w => congrArg Nat.succ (Within.length_hi w)

/-- Concatenation. -/
theorem Within.append : {a x b : List Q} → {a' x' b' : List Q} → Within a x b → Within a' x' b' →
    Within (a ++ a') (x ++ x') (b ++ b')
  | _, _, _, _, _, _, .nil, w' => w'
  | _, _, _, _, _, _, .cons e w, w' => Within.cons e (Within.append w w')

/-- A monotone map, preserving positive denominators. -/
theorem Within.map_mono {f : Q → Q} (wf : ∀ q, q.WF → (f q).WF)
    (mono : ∀ a b, a.WF → b.WF → a ≤ b → f a ≤ f b) :
    {lo x hi : List Q} → Within lo x hi → Within (lo.map f) (x.map f) (hi.map f)
  | _, _, _, .nil => Within.nil
  | _, _, _, .cons b w => Within.cons
      ⟨wf _ b.1, wf _ b.2.1, wf _ b.2.2.1, mono _ _ b.1 b.2.1 b.2.2.2.1, mono _ _ b.2.1 b.2.2.1 b.2.2.2.2⟩
      (Within.map_mono wf mono w)

/-- An antitone map swaps the ends. -/
theorem Within.map_anti {f : Q → Q} (wf : ∀ q, q.WF → (f q).WF)
    (anti : ∀ a b, a.WF → b.WF → a ≤ b → f b ≤ f a) :
    {lo x hi : List Q} → Within lo x hi → Within (hi.map f) (x.map f) (lo.map f)
  | _, _, _, .nil => Within.nil
  | _, _, _, .cons b w => Within.cons
      ⟨wf _ b.2.2.1, wf _ b.2.1, wf _ b.1, anti _ _ b.2.1 b.2.2.1 b.2.2.2.2, anti _ _ b.1 b.2.1 b.2.2.2.1⟩
      (Within.map_anti wf anti w)

/-- A binary map, monotone in both arguments: lower ends combine with lower ends. -/
theorem Within.zip_mono {f : Q → Q → Q} (wf : ∀ a b, (f a b).WF)
    (mono : ∀ a a' b b', a.WF → a'.WF → b.WF → b'.WF → a ≤ a' → b ≤ b' → f a b ≤ f a' b') :
    {la xa ha : List Q} → {lb xb hb : List Q} → Within la xa ha → Within lb xb hb →
    Within (zipWithL f la lb) (zipWithL f xa xb) (zipWithL f ha hb)
  | _, _, _, _, _, _, .nil, _ => Within.nil
  | _, _, _, _, _, _, .cons _ _, .nil => Within.nil
  | _, _, _, _, _, _, .cons e w, .cons e' w' => Within.cons
      ⟨wf _ _, wf _ _, wf _ _, mono _ _ _ _ e.1 e.2.1 e'.1 e'.2.1 e.2.2.2.1 e'.2.2.2.1,
        mono _ _ _ _ e.2.1 e.2.2.1 e'.2.1 e'.2.2.1 e.2.2.2.2 e'.2.2.2.2⟩
      (Within.zip_mono wf mono w w')

/-- A binary map, monotone in the first argument and antitone in the second: the lower end
combines the first's lower ends with the second's upper ends. -/
theorem Within.zip_anti {f : Q → Q → Q} (wf : ∀ a b, (f a b).WF)
    (mono : ∀ a a' b b', a.WF → a'.WF → b.WF → b'.WF → a ≤ a' → b' ≤ b → f a b ≤ f a' b') :
    {la xa ha : List Q} → {lb xb hb : List Q} → Within la xa ha → Within lb xb hb →
    Within (zipWithL f la hb) (zipWithL f xa xb) (zipWithL f ha lb)
  | _, _, _, _, _, _, .nil, _ => Within.nil
  | _, _, _, _, _, _, .cons _ _, .nil => Within.nil
  | _, _, _, _, _, _, .cons e w, .cons e' w' => Within.cons
      ⟨wf _ _, wf _ _, wf _ _, mono _ _ _ _ e.1 e.2.1 e'.2.2.1 e'.2.1 e.2.2.2.1 e'.2.2.2.2,
        mono _ _ _ _ e.2.1 e.2.2.1 e'.2.1 e'.1 e.2.2.2.2 e'.2.2.2.1⟩
      (Within.zip_anti wf mono w w')

/-- The first `k` elements. -/
theorem Within.take : (k : Nat) → {lo x hi : List Q} → Within lo x hi →
    Within (lo.take k) (x.take k) (hi.take k)
  | 0, _, _, _, _ => Within.nil
  | _ + 1, _, _, _, .nil => Within.nil
  | k + 1, _, _, _, .cons e w => Within.cons e (Within.take k w)

/-- All but the first `k` elements. -/
theorem Within.drop : (k : Nat) → {lo x hi : List Q} → Within lo x hi →
    Within (lo.drop k) (x.drop k) (hi.drop k)
  | 0, _, _, _, w => w
  | _ + 1, _, _, _, .nil => Within.nil
  | k + 1, _, _, _, .cons _ w => Within.drop k w

/-- Lists of lists, enclosed position by position. -/
inductive Within2 : List (List Q) → List (List Q) → List (List Q) → Prop
  | nil : Within2 [] [] []
  | cons {l x h : List Q} {ls xs hs : List (List Q)} : Within l x h → Within2 ls xs hs →
      Within2 (l :: ls) (x :: xs) (h :: hs)

/-- Consecutive blocks. -/
theorem Within.blocks (k : Nat) : (n : Nat) → {lo x hi : List Q} → Within lo x hi →
    Within2 (chunks k n lo) (chunks k n x) (chunks k n hi)
  | 0, _, _, _, _ => Within2.nil
  | n + 1, _, _, _, w => Within2.cons (Within.take k w) (Within.blocks k n (Within.drop k w))

/-! ### Random access through `Tree` -/

/-- Three trees of one form whose leaves are enclosed. -/
inductive TreeWithin : Tree → Tree → Tree → Prop
  | leaf {l x h : Q} : Between l x h → TreeWithin (.leaf l) (.leaf x) (.leaf h)
  | node {a b c a' b' c' : Tree} : TreeWithin a b c → TreeWithin a' b' c' →
      TreeWithin (.node a a') (.node b b') (.node c c')
  | empty : TreeWithin .empty .empty .empty

/-- Building trees of one depth from enclosed lists gives enclosed trees and enclosed rests. -/
theorem Within.build : (d : Nat) → {lo x hi : List Q} → Within lo x hi →
    TreeWithin (Tree.build d lo).1 (Tree.build d x).1 (Tree.build d hi).1 ∧
      Within (Tree.build d lo).2 (Tree.build d x).2 (Tree.build d hi).2
  | 0, _, _, _, .nil => ⟨TreeWithin.empty, Within.nil⟩
  | 0, _, _, _, .cons e w => ⟨TreeWithin.leaf e, w⟩
  | d + 1, lo, x, hi, w => by
    have h1 := Within.build d w
    have h2 := Within.build d h1.2
    unfold Tree.build
    exact ⟨TreeWithin.node h1.1 h2.1, h2.2⟩

/-- Reading one index of enclosed trees gives enclosed elements. -/
theorem TreeWithin.get : (d : Nat) → {a b c : Tree} → TreeWithin a b c → (i : Nat) →
    Between (Tree.get d a i) (Tree.get d b i) (Tree.get d c i)
  | 0, _, _, _, .leaf e, _ => e
  | 0, _, _, _, .node _ _, _ => Between.zero
  | 0, _, _, _, .empty, _ => Between.zero
  | _ + 1, _, _, _, .leaf _, _ => Between.zero
  | _ + 1, _, _, _, .empty, _ => Between.zero
  | d + 1, _, _, _, .node t t', i => by
    unfold Tree.get
    cases Nat.beq (Nat.land (Nat.shiftRight i d) (nat_lit 1)) (nat_lit 1) with
    | true => exact TreeWithin.get d t' _
    | false => exact TreeWithin.get d t i

/-- Gathering one index list from enclosed lists gives enclosed lists. -/
theorem Within.gathered {lo x hi : List Q} (w : Within lo x hi) (idx : List Nat) :
    Within (gather lo idx) (gather x idx) (gather hi idx) := by
  have t := (Within.build (Nat.add (Nat.log2 x.length) (nat_lit 1)) w).1
  unfold gather Vec.ofList
  rw [← Within.length_lo w, ← Within.length_hi w]
  induction idx with
  | nil => exact Within.nil
  | cons i is ih => exact Within.cons (TreeWithin.get _ t i) ih

/-- Broadcasting enclosed values of one shape to a shape `o`. -/
theorem Within.broadcast {lo x hi : List Q} (w : Within lo x hi) (s o : Shape) :
    Within (broadcastTo ⟨s, lo⟩ o) (broadcastTo ⟨s, x⟩ o) (broadcastTo ⟨s, hi⟩ o) := by
  unfold broadcastTo
  cases decide (s = o) with
  | true => exact w
  | false => exact Within.gathered w _

end Pytorch2Lean
