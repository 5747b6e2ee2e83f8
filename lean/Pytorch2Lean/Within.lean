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

/-! ### Lists related position by position

The matrix product's rule runs the denotation's structure (`matmulBlocks`, `matmul2With`) on
pairs `(lo, hi)` against points; these lemmas say that the list functions of that structure
keep any position-by-position relation. -/

/-- Two lists related position by position. -/
inductive All2 {α β : Type} (R : α → β → Prop) : List α → List β → Prop
  | nil : All2 R [] []
  | cons {a : α} {b : β} {as : List α} {bs : List β} : R a b → All2 R as bs →
      All2 R (a :: as) (b :: bs)

/-- Tables side by side. -/
theorem All2.append {α β : Type} {R : α → β → Prop} : {as : List α} → {bs : List β} →
    {cs : List α} → {ds : List β} → All2 R as bs → All2 R cs ds → All2 R (as ++ cs) (bs ++ ds)
  | _, _, _, _, .nil, r => r
  | _, _, _, _, .cons e r, r' => All2.cons e (All2.append r r')

/-- Related lists have one length. -/
theorem All2.length {α β : Type} {R : α → β → Prop} : {as : List α} → {bs : List β} →
    All2 R as bs → as.length = bs.length
  | _, _, .nil => rfl
  | _, _, .cons _ r => congrArg Nat.succ (All2.length r)

/-- The first `k` elements. -/
theorem all2_take {α β : Type} {R : α → β → Prop} : (k : Nat) → {as : List α} → {bs : List β} →
    All2 R as bs → All2 R (as.take k) (bs.take k)
  | 0, _, _, _ => All2.nil
  | _ + 1, _, _, .nil => All2.nil
  | k + 1, _, _, .cons e r => All2.cons e (all2_take k r)

/-- All but the first `k` elements. -/
theorem all2_drop {α β : Type} {R : α → β → Prop} : (k : Nat) → {as : List α} → {bs : List β} →
    All2 R as bs → All2 R (as.drop k) (bs.drop k)
  | 0, _, _, r => r
  | _ + 1, _, _, .nil => All2.nil
  | k + 1, _, _, .cons _ r => all2_drop k r

/-- Consecutive blocks. -/
theorem all2_chunks {α β : Type} {R : α → β → Prop} (k : Nat) : (n : Nat) → {as : List α} →
    {bs : List β} → All2 R as bs → All2 (All2 R) (chunks k n as) (chunks k n bs)
  | 0, _, _, _ => All2.nil
  | n + 1, _, _, r => All2.cons (all2_take k r) (all2_chunks k n (all2_drop k r))

/-- Element `i`, or the related defaults. -/
theorem all2_nthD {α β : Type} {R : α → β → Prop} {d : α} {d' : β} (hd : R d d') :
    {as : List α} → {bs : List β} → All2 R as bs → (i : Nat) → R (nthD as i d) (nthD bs i d')
  | _, _, .nil, _ => hd
  | _, _, .cons e _, 0 => e
  | _, _, .cons _ r, i + 1 => all2_nthD hd r i

/-- A map that relates related elements. -/
theorem all2_map {α β γ δ : Type} {R : α → β → Prop} {S : γ → δ → Prop} {f : α → γ} {g : β → δ}
    (hf : ∀ a b, R a b → S (f a) (g b)) : {as : List α} → {bs : List β} → All2 R as bs →
    All2 S (as.map f) (bs.map g)
  | _, _, .nil => All2.nil
  | _, _, .cons e r => All2.cons (hf _ _ e) (all2_map hf r)

/-- Zipping related lists with a map that relates related elements. -/
theorem all2_zip {α β γ δ ε ζ : Type} {R : α → β → Prop} {S : γ → δ → Prop} {T : ε → ζ → Prop}
    {f : α → γ → ε} {g : β → δ → ζ} (hf : ∀ a b c d, R a b → S c d → T (f a c) (g b d)) :
    {as : List α} → {bs : List β} → {cs : List γ} → {ds : List δ} → All2 R as bs → All2 S cs ds →
    All2 T (zipWithL f as cs) (zipWithL g bs ds)
  | _, _, _, _, .nil, _ => All2.nil
  | _, _, _, _, .cons _ _, .nil => All2.nil
  | _, _, _, _, .cons e r, .cons e' r' => All2.cons (hf _ _ _ _ e e') (all2_zip hf r r')

/-- A right fold with steps that relate related arguments. -/
theorem all2_foldr {α β γ δ : Type} {R : α → β → Prop} {S : γ → δ → Prop} {f : α → γ → γ}
    {g : β → δ → δ} (hf : ∀ a b c d, R a b → S c d → S (f a c) (g b d)) {i : γ} {i' : δ}
    (hi : S i i') : {as : List α} → {bs : List β} → All2 R as bs → S (as.foldr f i) (bs.foldr g i')
  | _, _, .nil => hi
  | _, _, .cons e r => hf _ _ _ _ e (all2_foldr hf hi r)

/-- Repeating related elements. -/
theorem all2_replicate {α β : Type} {R : α → β → Prop} {a : α} {b : β} (e : R a b) :
    (n : Nat) → All2 R (List.replicate n a) (List.replicate n b)
  | 0 => All2.nil
  | n + 1 => All2.cons e (all2_replicate e n)

/-- The columns of related rows. -/
theorem all2_columns {α β : Type} {R : α → β → Prop} (n : Nat) {rows : List (List α)}
    {rows' : List (List β)} (r : All2 (All2 R) rows rows') :
    All2 (All2 R) (columns n rows) (columns n rows') := by
  unfold columns
  rw [All2.length r]
  refine all2_foldr (fun _ _ _ _ hb hc => all2_zip (fun _ _ _ _ e e' => All2.append e e') ?_ hc)
    (all2_replicate All2.nil n) (all2_chunks 64 _ r)
  unfold blockColumns
  exact all2_foldr (fun _ _ _ _ hr hc => all2_zip (fun _ _ _ _ e e' => All2.cons e e') hr hc)
    (all2_replicate All2.nil n) hb

/-- `concatMap` of related lists, with a map that relates related elements. -/
theorem all2_concatMap {α β γ δ : Type} {R : α → β → Prop} {S : γ → δ → Prop} {f : α → List γ}
    {g : β → List δ} (hf : ∀ a b, R a b → All2 S (f a) (g b)) : {as : List α} → {bs : List β} →
    All2 R as bs → All2 S (concatMap f as) (concatMap g bs)
  | _, _, .nil => All2.nil
  | _, _, .cons e r => All2.append (hf _ _ e) (all2_concatMap hf r)

/-- `concatMap` of one list with two maps whose images are related. -/
theorem all2_concatMap_same {α γ δ : Type} {S : γ → δ → Prop} {f : α → List γ} {g : α → List δ}
    (hf : ∀ a, All2 S (f a) (g a)) : (l : List α) → All2 S (concatMap f l) (concatMap g l)
  | [] => All2.nil
  | a :: as => All2.append (hf a) (all2_concatMap_same hf as)

/-- One matrix product's structure keeps relations: `f` relates related rows and columns. -/
theorem all2_matmul2With {α β γ α' β' γ' : Type} {RA : α → α' → Prop} {RB : β → β' → Prop}
    {RC : γ → γ' → Prop} {f : List α → List β → γ} {f' : List α' → List β' → γ'}
    (hf : ∀ r r' c c', All2 RA r r' → All2 RB c c' → RC (f r c) (f' r' c'))
    {a : List α} {a' : List α'} {b : List β} {b' : List β'} (ha : All2 RA a a') (hb : All2 RB b b')
    (k n m : Nat) : All2 RC (matmul2With f a b k n m) (matmul2With f' a' b' k n m) := by
  unfold matmul2With
  exact all2_concatMap (R := All2 RA) (fun r r' hr => all2_map (R := All2 RB)
    (fun c c' hc => hf r r' c c' hr hc) (all2_columns n (all2_chunks n k hb))) (all2_chunks k m ha)

/-- `matmul`'s structure keeps relations: `pair` relates related blocks. -/
theorem all2_matmulBlocks {α β γ α' β' γ' : Type} {RA : α → α' → Prop} {RB : β → β' → Prop}
    {RC : γ → γ' → Prop} {pair : List α → List β → Nat → Nat → Nat → List γ}
    {pair' : List α' → List β' → Nat → Nat → Nat → List γ'}
    (hp : ∀ A A' B B' k n m, All2 RA A A' → All2 RB B B' → All2 RC (pair A B k n m) (pair' A' B' k n m))
    (sa sb : Shape) {a : List α} {a' : List α'} {b : List β} {b' : List β'} (ha : All2 RA a a')
    (hb : All2 RB b b') : All2 RC (matmulBlocks pair sa a sb b) (matmulBlocks pair' sa a' sb b') := by
  unfold matmulBlocks
  exact all2_concatMap_same (fun _ => hp _ _ _ _ _ _ _ (all2_nthD All2.nil (all2_chunks _ _ ha) _)
    (all2_nthD All2.nil (all2_chunks _ _ hb) _)) _

/-- A pair `(l, h)` encloses a point. -/
def BetweenP (p : Q × Q) (x : Q) : Prop := Between p.1 x p.2

/-- An exact value, with a positive denominator. -/
def SameWF (a b : Q) : Prop := a = b ∧ a.WF

/-- Enclosed points, as pairs of ends. -/
theorem Within.pairs : {lo x hi : List Q} → Within lo x hi → All2 BetweenP (zipWithL Prod.mk lo hi) x
  | _, _, _, .nil => All2.nil
  | _, _, _, .cons e w => All2.cons e (Within.pairs w)

/-- Points enclosed by pairs lie between their first and second ends. -/
theorem all2_within : {ps : List (Q × Q)} → {x : List Q} → All2 BetweenP ps x →
    Within (ps.map (fun p => p.1)) x (ps.map (fun p => p.2))
  | _, _, .nil => Within.nil
  | _, _, .cons e r => Within.cons e (all2_within r)

/-- A list with positive denominators, related to itself exactly. -/
theorem all2_sameWF : (l : List Q) → AllWF l → All2 SameWF l l
  | [], _ => All2.nil
  | a :: as, h => All2.cons ⟨rfl, h a (List.Mem.head as)⟩
      (all2_sameWF as (fun q hq => h q (List.Mem.tail a hq)))

/-- Lists related exactly are equal and have positive denominators. -/
theorem all2_of_sameWF : {l l' : List Q} → All2 SameWF l l' → l = l' ∧ AllWF l
  | _, _, .nil => ⟨rfl, fun _ h => nomatch h⟩
  | a :: _, _, .cons e r => by
    obtain ⟨e', w⟩ := all2_of_sameWF r
    refine ⟨by rw [e.1, e'], fun q hq => ?_⟩
    cases hq with
    | head => exact e.2
    | tail _ hq' => exact w q hq'

/-! ### Products of intervals, leaky ReLU, float32 attributes -/

/-- `some` is injective. -/
theorem some_inj' {α : Type} {a b : α} (h : some a = some b) : a = b := by
  injection h


/-- `min a b ≤ a`. -/
theorem Q.min_le_left' {a b : Q} (ha : a.WF) (hb : b.WF) : Q.min a b ≤ a := by
  unfold Q.min
  cases h : Q.ble a b
  · exact Q.le_of_ble_false ha hb h
  · exact Q.le_refl a

/-- `min a b ≤ b`. -/
theorem Q.min_le_right' {a b : Q} : Q.min a b ≤ b := by
  unfold Q.min
  cases h : Q.ble a b
  · exact Q.le_refl b
  · exact h

/-- `a ≤ max a b`. -/
theorem Q.le_max_left' {a b : Q} : a ≤ Q.max a b := by
  unfold Q.max
  cases h : Q.ble a b
  · exact Q.le_refl a
  · exact h

/-- `b ≤ max a b`. -/
theorem Q.le_max_right' {a b : Q} (ha : a.WF) (hb : b.WF) : b ≤ Q.max a b := by
  unfold Q.max
  cases h : Q.ble a b
  · exact Q.le_of_ble_false ha hb h
  · exact Q.le_refl b

/-- The least of the products of the ends of `[a, b]` and `[c, d]`. -/
def cornerLo (a b c d : Q) : Q :=
  Q.min (Q.min (Q.mul a c) (Q.mul a d)) (Q.min (Q.mul b c) (Q.mul b d))

/-- The greatest of the products of the ends of `[a, b]` and `[c, d]`. -/
def cornerHi (a b c d : Q) : Q :=
  Q.max (Q.max (Q.mul a c) (Q.mul a d)) (Q.max (Q.mul b c) (Q.mul b d))

/-- The product of two intervals, given as pairs of ends: the least and greatest corner. -/
def mulIv (p q : Q × Q) : Q × Q := (cornerLo p.1 p.2 q.1 q.2, cornerHi p.1 p.2 q.1 q.2)

/-- A product of enclosed points is at least one corner product. -/
theorem corner_le_mul {a x b c y d : Q} (e1 : Between a x b) (e2 : Between c y d) :
    ∃ p q, (p = a ∨ p = b) ∧ (q = c ∨ q = d) ∧ Q.mul p q ≤ Q.mul x y := by
  obtain ⟨wa, wx, wb, hax, hxb⟩ := e1
  obtain ⟨wc, wy, wd, hcy, hyd⟩ := e2
  cases hy : Q.ble Q.zero y with
  | true =>
    have h1 : Q.mul a y ≤ Q.mul x y := Q.mul_le_mul_of_nonneg wa wx wy hy hax
    cases ha : Q.ble Q.zero a with
    | true =>
      have h2 : Q.mul c a ≤ Q.mul y a := Q.mul_le_mul_of_nonneg wc wy wa ha hcy
      rw [Q.mul_comm c a, Q.mul_comm y a] at h2
      exact ⟨a, c, Or.inl rfl, Or.inl rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h2 h1⟩
    | false =>
      have h2 : Q.mul d a ≤ Q.mul y a := Q.mul_le_mul_of_nonpos wy wd wa ha hyd
      rw [Q.mul_comm d a, Q.mul_comm y a] at h2
      exact ⟨a, d, Or.inl rfl, Or.inr rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h2 h1⟩
  | false =>
    have h1 : Q.mul b y ≤ Q.mul x y := Q.mul_le_mul_of_nonpos wx wb wy hy hxb
    cases hb : Q.ble Q.zero b with
    | true =>
      have h2 : Q.mul c b ≤ Q.mul y b := Q.mul_le_mul_of_nonneg wc wy wb hb hcy
      rw [Q.mul_comm c b, Q.mul_comm y b] at h2
      exact ⟨b, c, Or.inr rfl, Or.inl rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h2 h1⟩
    | false =>
      have h2 : Q.mul d b ≤ Q.mul y b := Q.mul_le_mul_of_nonpos wy wd wb hb hyd
      rw [Q.mul_comm d b, Q.mul_comm y b] at h2
      exact ⟨b, d, Or.inr rfl, Or.inr rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h2 h1⟩

/-- A product of enclosed points is at most one corner product. -/
theorem mul_le_corner {a x b c y d : Q} (e1 : Between a x b) (e2 : Between c y d) :
    ∃ p q, (p = a ∨ p = b) ∧ (q = c ∨ q = d) ∧ Q.mul x y ≤ Q.mul p q := by
  obtain ⟨wa, wx, wb, hax, hxb⟩ := e1
  obtain ⟨wc, wy, wd, hcy, hyd⟩ := e2
  cases hy : Q.ble Q.zero y with
  | true =>
    have h1 : Q.mul x y ≤ Q.mul b y := Q.mul_le_mul_of_nonneg wx wb wy hy hxb
    cases hb : Q.ble Q.zero b with
    | true =>
      have h2 : Q.mul y b ≤ Q.mul d b := Q.mul_le_mul_of_nonneg wy wd wb hb hyd
      rw [Q.mul_comm d b, Q.mul_comm y b] at h2
      exact ⟨b, d, Or.inr rfl, Or.inr rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h1 h2⟩
    | false =>
      have h2 : Q.mul y b ≤ Q.mul c b := Q.mul_le_mul_of_nonpos wc wy wb hb hcy
      rw [Q.mul_comm c b, Q.mul_comm y b] at h2
      exact ⟨b, c, Or.inr rfl, Or.inl rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h1 h2⟩
  | false =>
    have h1 : Q.mul x y ≤ Q.mul a y := Q.mul_le_mul_of_nonpos wa wx wy hy hax
    cases ha : Q.ble Q.zero a with
    | true =>
      have h2 : Q.mul y a ≤ Q.mul d a := Q.mul_le_mul_of_nonneg wy wd wa ha hyd
      rw [Q.mul_comm d a, Q.mul_comm y a] at h2
      exact ⟨a, d, Or.inl rfl, Or.inr rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h1 h2⟩
    | false =>
      have h2 : Q.mul y a ≤ Q.mul c a := Q.mul_le_mul_of_nonpos wc wy wa ha hcy
      rw [Q.mul_comm c a, Q.mul_comm y a] at h2
      exact ⟨a, c, Or.inl rfl, Or.inl rfl, Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) (Q.mul_wf _ _) h1 h2⟩

/-- The least corner is at most every corner. -/
theorem cornerLo_le {a b c d p q : Q} (hp : p = a ∨ p = b) (hq : q = c ∨ q = d) :
    cornerLo a b c d ≤ Q.mul p q := by
  have w := fun (u v : Q) => Q.mul_wf u v
  have m1 : (Q.min (Q.mul a c) (Q.mul a d)).WF := Q.min_wf (w _ _) (w _ _)
  have m2 : (Q.min (Q.mul b c) (Q.mul b d)).WF := Q.min_wf (w _ _) (w _ _)
  unfold cornerLo
  cases hp <;> cases hq <;> rename_i e1 e2 <;> rw [e1, e2]
  · exact Q.le_trans (Q.min_wf m1 m2) m1 (w _ _) (Q.min_le_left' m1 m2) (Q.min_le_left' (w _ _) (w _ _))
  · exact Q.le_trans (Q.min_wf m1 m2) m1 (w _ _) (Q.min_le_left' m1 m2) Q.min_le_right'
  · exact Q.le_trans (Q.min_wf m1 m2) m2 (w _ _) Q.min_le_right' (Q.min_le_left' (w _ _) (w _ _))
  · exact Q.le_trans (Q.min_wf m1 m2) m2 (w _ _) Q.min_le_right' Q.min_le_right'

/-- Every corner is at most the greatest corner. -/
theorem le_cornerHi {a b c d p q : Q} (hp : p = a ∨ p = b) (hq : q = c ∨ q = d) :
    Q.mul p q ≤ cornerHi a b c d := by
  have w := fun (u v : Q) => Q.mul_wf u v
  have m1 : (Q.max (Q.mul a c) (Q.mul a d)).WF := Q.max_wf (w _ _) (w _ _)
  have m2 : (Q.max (Q.mul b c) (Q.mul b d)).WF := Q.max_wf (w _ _) (w _ _)
  unfold cornerHi
  cases hp <;> cases hq <;> rename_i e1 e2 <;> rw [e1, e2]
  · exact Q.le_trans (w _ _) m1 (Q.max_wf m1 m2) Q.le_max_left' Q.le_max_left'
  · exact Q.le_trans (w _ _) m1 (Q.max_wf m1 m2) (Q.le_max_right' (w _ _) (w _ _)) Q.le_max_left'
  · exact Q.le_trans (w _ _) m2 (Q.max_wf m1 m2) Q.le_max_left' (Q.le_max_right' m1 m2)
  · exact Q.le_trans (w _ _) m2 (Q.max_wf m1 m2) (Q.le_max_right' (w _ _) (w _ _)) (Q.le_max_right' m1 m2)

/-- The corners enclose the product of enclosed points. -/
theorem mulIv_between {p q : Q × Q} {x y : Q} (e1 : BetweenP p x) (e2 : BetweenP q y) :
    BetweenP (mulIv p q) (Q.mul x y) := by
  obtain ⟨u, v, hu, hv, h1⟩ := corner_le_mul e1 e2
  obtain ⟨u', v', hu', hv', h2⟩ := mul_le_corner e1 e2
  have wlo : (cornerLo p.1 p.2 q.1 q.2).WF :=
    Q.min_wf (Q.min_wf (Q.mul_wf _ _) (Q.mul_wf _ _)) (Q.min_wf (Q.mul_wf _ _) (Q.mul_wf _ _))
  have whi : (cornerHi p.1 p.2 q.1 q.2).WF :=
    Q.max_wf (Q.max_wf (Q.mul_wf _ _) (Q.mul_wf _ _)) (Q.max_wf (Q.mul_wf _ _) (Q.mul_wf _ _))
  exact ⟨wlo, Q.mul_wf x y, whi, Q.le_trans wlo (Q.mul_wf _ _) (Q.mul_wf _ _) (cornerLo_le hu hv) h1,
    Q.le_trans (Q.mul_wf _ _) (Q.mul_wf _ _) whi h2 (le_cornerHi hu' hv')⟩

/-- `Q.mul Q.zero a` is zero. -/
theorem Q.zero_mul' (a : Q) : Q.mul Q.zero a = Q.zero := by
  unfold Q.mul Q.make
  have e : Nat.mul Q.zero.num a.num = 0 := nat_zero_mul _
  rw [e]
  rfl

/-- `leakyReluQ alpha` keeps positive denominators. -/
theorem leakyReluQ_wf {alpha a : Q} (h : a.WF) : (leakyReluQ alpha a).WF := by
  unfold leakyReluQ
  cases Q.blt Q.zero a with
  | true => exact h
  | false => exact Q.mul_wf _ _

/-- `leakyReluQ alpha` is monotone for `alpha ≥ 0`. -/
theorem leakyReluQ_le {alpha a b : Q} (hal : alpha.WF) (h0 : Q.ble Q.zero alpha = true) (ha : a.WF)
    (hb : b.WF) (h : a ≤ b) : leakyReluQ alpha a ≤ leakyReluQ alpha b := by
  unfold leakyReluQ
  cases h1 : Q.blt Q.zero a <;> cases h2 : Q.blt Q.zero b
  · exact Q.mul_le_mul_of_nonneg ha hb hal h0 h
  · have a0 : a ≤ Q.zero := by
      have e : (!(Q.ble a Q.zero)) = false := h1
      cases e' : Q.ble a Q.zero with
      | true => exact e'
      | false => rw [e'] at e; exact Bool.noConfusion e
    have m : Q.mul a alpha ≤ Q.mul Q.zero alpha := Q.mul_le_mul_of_nonneg ha Q.zero_wf hal h0 a0
    rw [Q.zero_mul'] at m
    exact Q.le_trans (Q.mul_wf _ _) Q.zero_wf hb m (Q.le_of_blt Q.zero_wf hb h2)
  · have h3 := Q.lt_of_lt_of_le Q.zero_wf ha hb h1 h
    rw [h2] at h3
    exact Bool.noConfusion h3
  · exact h

/-- Either of two rationals with positive denominators. -/
theorem cond_wf {b : Bool} {x y : Q} (hx : x.WF) (hy : y.WF) : (cond b x y).WF := by
  cases b
  · exact hy
  · exact hx

/-- A decoded float32 has a positive denominator. -/
theorem f32Q_wf (bits : Nat) : (f32Q bits).WF := by
  unfold f32Q f32Fields f32Value
  exact cond_wf (cond_wf (Q.make_wf _ _ _) (Q.make_wf _ _ _)) (cond_wf (Q.make_wf _ _ _) (Q.make_wf _ _ _))

/-- A decoded float32 attribute has a positive denominator. -/
theorem decodeF32_wf {bits : Nat} {q : Q} (h : decodeF32 bits = some q) : q.WF := by
  unfold decodeF32 at h
  cases e : finiteF32 bits with
  | true => rw [e] at h; rw [← some_inj' h]; exact f32Q_wf bits
  | false => rw [e] at h; exact Option.noConfusion rfl (heq_of_eq h)

/-! ### Random access, windows, pooling -/

/-- Reading one index of enclosed lists stored for random access. -/
theorem Within.vecGet {lo x hi : List Q} (w : Within lo x hi) (i : Nat) :
    Between ((Vec.ofList lo).get i) ((Vec.ofList x).get i) ((Vec.ofList hi).get i) := by
  have t := (Within.build (Nat.add (Nat.log2 x.length) (nat_lit 1)) w).1
  unfold Vec.ofList Vec.get
  rw [← Within.length_lo w, ← Within.length_hi w]
  exact TreeWithin.get _ t i

/-- Reading indices or a constant `v`, from enclosed lists. -/
theorem Within.padded {lo x hi : List Q} (w : Within lo x hi) {v : Q} (hv : v.WF) :
    (idx : List (Option Nat)) →
    Within (idx.map (fun s => match s with
        | some i => (Vec.ofList lo).get i
        | none => v))
      (idx.map (fun s => match s with
        | some i => (Vec.ofList x).get i
        | none => v))
      (idx.map (fun s => match s with
        | some i => (Vec.ofList hi).get i
        | none => v))
  | [] => Within.nil
  | some i :: is => Within.cons (Within.vecGet w i) (Within.padded w hv is)
  | none :: is => Within.cons (Between.refl hv) (Within.padded w hv is)

/-- A map of enclosed lists, element by element. -/
theorem within_map {α : Type} {f g k : α → Q} (h : ∀ a, Between (f a) (g a) (k a)) :
    (l : List α) → Within (l.map f) (l.map g) (l.map k)
  | [] => Within.nil
  | a :: as => Within.cons (h a) (within_map h as)

/-- `concatMap` of enclosed lists. -/
theorem within_concatMap {α : Type} {f g k : α → List Q} (h : ∀ a, Within (f a) (g a) (k a)) :
    (l : List α) → Within (concatMap f l) (concatMap g l) (concatMap k l)
  | [] => Within.nil
  | a :: as => Within.append (h a) (within_concatMap h as)

/-- The lower ends lie below the points. -/
theorem Within.listLe_lo : {lo x hi : List Q} → Within lo x hi → ListLe lo x
  | _, _, _, .nil => ListLe.nil
  | _, _, _, .cons e w => ListLe.cons e.1 e.2.1 e.2.2.2.1 (Within.listLe_lo w)

/-- The points lie below the upper ends. -/
theorem Within.listLe_hi : {lo x hi : List Q} → Within lo x hi → ListLe x hi
  | _, _, _, .nil => ListLe.nil
  | _, _, _, .cons e w => ListLe.cons e.2.1 e.2.2.1 e.2.2.2.2 (Within.listLe_hi w)

/-- `maxQ` of a list of rationals with positive denominators (and of its partner) has one. -/
theorem maxQ_wf2 {as bs : List Q} (h : ListLe as bs) : (maxQ as).WF ∧ (maxQ bs).WF := by
  cases h with
  | nil => exact ⟨Q.zero_wf, Q.zero_wf⟩
  | cons ha hb hab rest =>
    have r := foldl_max_le rest ha hb hab
    exact ⟨r.1, r.2.1⟩

/-- The maximum of enclosed lists. -/
theorem within_maxQ {lo x hi : List Q} (w : Within lo x hi) : Between (maxQ lo) (maxQ x) (maxQ hi) :=
  ⟨(maxQ_wf2 (Within.listLe_lo w)).1, (maxQ_wf2 (Within.listLe_lo w)).2,
    (maxQ_wf2 (Within.listLe_hi w)).2, maxQ_le_maxQ (Within.listLe_lo w), maxQ_le_maxQ (Within.listLe_hi w)⟩

/-- The sum of enclosed lists. -/
theorem within_sumQ {lo x hi : List Q} (w : Within lo x hi) : Between (sumQ lo) (sumQ x) (sumQ hi) :=
  ⟨sumQ_wf _, sumQ_wf _, sumQ_wf _, sumQ_le_sumQ (Within.listLe_lo w), sumQ_le_sumQ (Within.listLe_hi w)⟩

set_option linter.unusedSimpArgs false in
/-- Dividing by a positive natural scales both sides of `≤` (cross-multiplication by `n`). -/
theorem V.le_scale_den {s t : Bool} {x y d e : Nat} (n : Nat)
    (h : V.le (V.signed s x d) (V.signed t y e)) :
    V.le (V.signed s x (d * n)) (V.signed t y (e * n)) := by
  have h' := nat_mul_le_mul_left n h
  cases s <;> cases t <;>
    simp only [V.le, V.signed, cond_true', cond_false', nat_zero_mul, nat_mul_zero, nat_add_zero,
      nat_zero_add] at h' ⊢ <;>
    (try simp only [nat_left_distrib, nat_right_distrib] at h' ⊢) <;>
    (try simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm] at h' ⊢) <;>
    (try simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm] at h' ⊢) <;>
    exact h'

/-- `a / n` has a positive denominator. -/
theorem Q.div_ofNat_wf (a : Q) (n : Nat) : (Q.div a (Q.ofNat n)).WF := by
  unfold Q.div
  exact cond_wf Q.zero_wf (Q.make_wf _ _ _)

/-- Dividing by a natural keeps `≤`. -/
theorem Q.div_ofNat_le {a b : Q} (ha : a.WF) (hb : b.WF) (n : Nat) (h : a ≤ b) :
    Q.div a (Q.ofNat n) ≤ Q.div b (Q.ofNat n) := by
  unfold Q.div Q.ofNat Q.isZero
  cases hn : Nat.beq n (nat_lit 0) with
  | true => exact Q.le_refl _
  | false =>
    have n0 : 0 < n := nat_pos_of_ne_zero (nat_ne_of_beq_eq_false hn)
    show Q.make (a.neg != false) (Nat.mul a.num 1) (Nat.mul a.den n) ≤
      Q.make (b.neg != false) (Nat.mul b.num 1) (Nat.mul b.den n)
    have e1 : ∀ (c : Bool), (c != false) = c := fun c => by cases c <;> rfl
    have e2 : ∀ (m : Nat), Nat.mul m 1 = m := fun m => nat_mul_one m
    rw [e1, e1, e2, e2]
    have pa : 0 < a.den * n := nat_mul_pos ha n0
    have pb : 0 < b.den * n := nat_mul_pos hb n0
    exact (Q.ble_iff (Q.make_wf _ _ _) (Q.make_wf _ _ _)).mpr
      (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ pa)) (V.eqv_symm' (Q.make_eqv _ _ _ pb))
        (V.le_scale_den n ((Q.ble_iff ha hb).mp h)) pa pb)

/-- The sum of enclosed lists divided by a count. -/
theorem within_sumDiv {lo x hi : List Q} (w : Within lo x hi) (n : Nat) :
    Between (Q.div (sumQ lo) (Q.ofNat n)) (Q.div (sumQ x) (Q.ofNat n)) (Q.div (sumQ hi) (Q.ofNat n)) :=
  have b := within_sumQ w
  ⟨Q.div_ofNat_wf _ _, Q.div_ofNat_wf _ _, Q.div_ofNat_wf _ _,
    Q.div_ofNat_le b.1 b.2.1 _ b.2.2.2.1, Q.div_ofNat_le b.2.1 b.2.2.1 _ b.2.2.2.2⟩

/-! ### Division by a nonzero rational -/

/-- `a / w` has a positive denominator. -/
theorem Q.div_wf' (a w : Q) : (Q.div a w).WF := by
  unfold Q.div
  exact cond_wf Q.zero_wf (Q.make_wf _ _ _)

/-- For `w ≠ 0`, `a / w` is `a` times the inverse `(-1)^w.neg w.den / w.num`. -/
theorem Q.div_eqv {a w : Q} (ha : a.WF) (hw : 0 < w.num) :
    V.eqv (Q.div a w).toV (V.mul a.toV (V.signed w.neg w.den w.num)) := by
  have hp : 0 < a.den * w.num := nat_mul_pos ha hw
  have e : Q.div a w = Q.make (a.neg != w.neg) (Nat.mul a.num w.den) (Nat.mul a.den w.num) := by
    unfold Q.div Q.isZero
    cases hn : w.num with
    | zero => rw [hn] at hw; exact absurd hw (nat_lt_irrefl 0)
    | succ m => rfl
  rw [e]
  exact V.eqv_trans (Q.make_eqv _ _ _ hp) (V.signed_mul_eqv a.neg w.neg a.num w.den a.den w.num) hp

/-- Dividing by a positive rational keeps `≤`. -/
theorem Q.div_le_div_pos {a b w : Q} (ha : a.WF) (hb : b.WF) (hw : 0 < w.num) (hs : w.neg = false)
    (h : a ≤ b) : Q.div a w ≤ Q.div b w := by
  have hi : (V.signed w.neg w.den w.num).neg ≤ (V.signed w.neg w.den w.num).pos := by
    rw [hs]; exact nat_zero_le _
  exact (Q.ble_iff (Q.div_wf' a w) (Q.div_wf' b w)).mpr
    (V.le_congr (V.eqv_symm' (Q.div_eqv ha hw)) (V.eqv_symm' (Q.div_eqv hb hw))
      (V.mul_le_mul_nonneg hi ((Q.ble_iff ha hb).mp h)) (nat_mul_pos ha hw) (nat_mul_pos hb hw))

/-- Dividing by a negative rational reverses `≤`. -/
theorem Q.div_le_div_neg {a b w : Q} (ha : a.WF) (hb : b.WF) (hw : 0 < w.num) (hs : w.neg = true)
    (h : a ≤ b) : Q.div b w ≤ Q.div a w := by
  have hi : (V.signed w.neg w.den w.num).pos ≤ (V.signed w.neg w.den w.num).neg := by
    rw [hs]; exact nat_zero_le _
  exact (Q.ble_iff (Q.div_wf' b w) (Q.div_wf' a w)).mpr
    (V.le_congr (V.eqv_symm' (Q.div_eqv hb hw)) (V.eqv_symm' (Q.div_eqv ha hw))
      (V.mul_le_mul_nonpos hi ((Q.ble_iff ha hb).mp h)) (nat_mul_pos hb hw) (nat_mul_pos ha hw))

/-- An exact divisor: the same rational on both sides, with a positive denominator and a nonzero
numerator. -/
def Divisor (w w' : Q) : Prop := w = w' ∧ w.WF ∧ 0 < w.num

/-- The quotients of an interval `p` by an exact nonzero `w`: the ends swap when `w < 0`. -/
def divIvPair (p : Q × Q) (w : Q) : Q × Q := (Q.div (cond w.neg p.2 p.1) w, Q.div (cond w.neg p.1 p.2) w)

/-- `divIvPair` encloses the quotient of an enclosed point. -/
theorem divIvPair_between {p : Q × Q} {x w w' : Q} (e : BetweenP p x) (d : Divisor w w') :
    BetweenP (divIvPair p w) (Q.div x w') := by
  obtain ⟨rfl, _, hw⟩ := d
  obtain ⟨wl, wx, wh, hl, hh⟩ := e
  unfold divIvPair
  refine ⟨Q.div_wf' _ _, Q.div_wf' _ _, Q.div_wf' _ _, ?_, ?_⟩ <;> cases hs : w.neg
  · exact Q.div_le_div_pos wl wx hw hs hl
  · exact Q.div_le_div_neg wx wh hw hs hh
  · exact Q.div_le_div_pos wx wh hw hs hh
  · exact Q.div_le_div_neg wl wx hw hs hl

/-- A list of rationals with positive denominators, none of them zero, as exact divisors. -/
theorem all2_divisor : (l : List Q) → AllWF l → l.any Q.isZero = false → All2 Divisor l l
  | [], _, _ => All2.nil
  | a :: as, hw, hz => by
    have hz' : (Q.isZero a || as.any Q.isZero) = false := hz
    cases h1 : Q.isZero a with
    | true => rw [h1] at hz'; exact Bool.noConfusion hz'
    | false =>
      rw [h1] at hz'
      exact All2.cons ⟨rfl, hw a (List.Mem.head as), nat_pos_of_ne_zero (nat_ne_of_beq_eq_false h1)⟩
        (all2_divisor as (fun q hq => hw q (List.Mem.tail a hq)) hz')

/-! ### Sums of bounded terms against dot products -/

/-- One step: `acc + l ≤ acc' + x * y` from `acc ≤ acc'` and `l ≤ x * y`. -/
theorem Acc.add_le_addMul {acc acc' : Acc} {l x y : Q} (hD : 0 < acc.den) (hD' : 0 < acc'.den)
    (hle : V.le acc.toV acc'.toV) (hl : l.WF) (hx : x.WF) (hy : y.WF) (hm : l ≤ Q.mul x y) :
    0 < (acc.add l.neg l.num l.den).den ∧ 0 < (acc'.addMul x y).den ∧
      V.le (acc.add l.neg l.num l.den).toV (acc'.addMul x y).toV := by
  have e1 := Acc.add_eqv acc l.neg l.num l.den hD hl
  have e2 := Acc.addMul_eqv acc' x y hD' hx hy
  have hm' : V.le l.toV (mulV x y) := V.le_congr (V.eqv_refl _) (Q.mul_eqv_mulV hx hy)
    ((Q.ble_iff hl (Q.mul_wf x y)).mp hm) hl (Q.mul_wf x y)
  exact ⟨e1.1, e2.1, V.le_congr (V.eqv_symm' e1.2) (V.eqv_symm' e2.2) (V.add_le_add hle hm')
    (nat_mul_pos hD hl) (nat_mul_pos hD' (nat_mul_pos hx hy))⟩

/-- One step: `acc + x * y ≤ acc' + u` from `acc ≤ acc'` and `x * y ≤ u`. -/
theorem Acc.addMul_le_add {acc acc' : Acc} {u x y : Q} (hD : 0 < acc.den) (hD' : 0 < acc'.den)
    (hle : V.le acc.toV acc'.toV) (hu : u.WF) (hx : x.WF) (hy : y.WF) (hm : Q.mul x y ≤ u) :
    0 < (acc.addMul x y).den ∧ 0 < (acc'.add u.neg u.num u.den).den ∧
      V.le (acc.addMul x y).toV (acc'.add u.neg u.num u.den).toV := by
  have e1 := Acc.addMul_eqv acc x y hD hx hy
  have e2 := Acc.add_eqv acc' u.neg u.num u.den hD' hu
  have hm' : V.le (mulV x y) u.toV := V.le_congr (Q.mul_eqv_mulV hx hy) (V.eqv_refl _)
    ((Q.ble_iff (Q.mul_wf x y) hu).mp hm) (Q.mul_wf x y) hu
  exact ⟨e1.1, e2.1, V.le_congr (V.eqv_symm' e1.2) (V.eqv_symm' e2.2) (V.add_le_add hle hm')
    (nat_mul_pos hD (nat_mul_pos hx hy)) (nat_mul_pos hD' hu)⟩

/-- Terms `l_i ≤ x_i * y_i ≤ u_i`, over lists of one length. -/
inductive TermsIn : List Q → List Q → List Q → List Q → Prop
  | nil : TermsIn [] [] [] []
  | cons {l x y u : Q} {ls xs ys us : List Q} : l.WF → x.WF → y.WF → u.WF → l ≤ Q.mul x y →
      Q.mul x y ≤ u → TermsIn ls xs ys us → TermsIn (l :: ls) (x :: xs) (y :: ys) (u :: us)

/-- Running sums of the bounding terms enclose the running dot product. -/
theorem sumAcc_dotAcc {ls xs ys us : List Q} (ht : TermsIn ls xs ys us) :
    ∀ (a b c : Acc), 0 < a.den → 0 < b.den → 0 < c.den → V.le a.toV b.toV → V.le b.toV c.toV →
      0 < (sumAcc ls a).den ∧ 0 < (dotAcc xs ys b).den ∧ 0 < (sumAcc us c).den ∧
        V.le (sumAcc ls a).toV (dotAcc xs ys b).toV ∧ V.le (dotAcc xs ys b).toV (sumAcc us c).toV := by
  induction ht with
  | nil => exact fun a b c ha hb hc h1 h2 => ⟨ha, hb, hc, h1, h2⟩
  | @cons l x y u ls xs ys us hl hx hy hu hlm hmu _ ih =>
    intro a b c ha hb hc h1 h2
    have r1 := Acc.add_le_addMul ha hb h1 hl hx hy hlm
    have r2 := Acc.addMul_le_add hb hc h2 hu hx hy hmu
    have s := ih (a.add l.neg l.num l.den) (b.addMul x y) (c.add u.neg u.num u.den) r1.1 r1.2.1 r2.2.1
      r1.2.2 r2.2.2
    unfold sumAcc dotAcc
    rw [Acc.strict_eq, Acc.strict_eq, Acc.strict_eq]
    exact s

/-- Sums of the bounding terms enclose the dot product. -/
theorem sumQ_dot_between {ls xs ys us : List Q} (ht : TermsIn ls xs ys us) :
    Between (sumQ ls) (dot xs ys Q.zero) (sumQ us) := by
  have z := Q.zero_wf
  have r := sumAcc_dotAcc ht (Acc.ofQ Q.zero) (Acc.ofQ Q.zero) (Acc.ofQ Q.zero) z z z
    (V.le_refl _) (V.le_refl _)
  refine ⟨sumQ_wf _, dot_wf _ _ _, sumQ_wf _, ?_, ?_⟩
  · exact (Q.ble_iff (sumQ_wf _) (dot_wf _ _ _)).mpr
      (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ r.1)) (V.eqv_symm' (Q.make_eqv _ _ _ r.2.1)) r.2.2.2.1
        r.1 r.2.1)
  · exact (Q.ble_iff (dot_wf _ _ _) (sumQ_wf _)).mpr
      (V.le_congr (V.eqv_symm' (Q.make_eqv _ _ _ r.2.1)) (V.eqv_symm' (Q.make_eqv _ _ _ r.2.2.1))
        r.2.2.2.2 r.2.1 r.2.2.1)

/-! ### Leaky ReLU with a negative slope -/

/-- `x` is at most both `a` and `b`, so at most their minimum. -/
theorem Q.le_min'' {a b x : Q} (ha : x ≤ a) (hb : x ≤ b) : x ≤ Q.min a b := by
  unfold Q.min
  cases Q.ble a b
  · exact hb
  · exact ha

/-- `a` and `b` are at most `x`, so their maximum is. -/
theorem Q.max_le'' {a b x : Q} (ha : a ≤ x) (hb : b ≤ x) : Q.max a b ≤ x := by
  unfold Q.max
  cases Q.ble a b
  · exact ha
  · exact hb

/-- Not above zero: at most zero. -/
theorem Q.le_zero_of_blt {x : Q} (h : Q.blt Q.zero x = false) : x ≤ Q.zero := by
  have e : (!(Q.ble x Q.zero)) = false := h
  cases e' : Q.ble x Q.zero with
  | true => exact e'
  | false => rw [e'] at e; exact Bool.noConfusion e

/-- At most zero: not above zero. -/
theorem Q.blt_of_le_zero {x : Q} (h : x ≤ Q.zero) : Q.blt Q.zero x = false := by
  show (!(Q.ble x Q.zero)) = false
  have e : Q.ble x Q.zero = true := h
  rw [e]
  rfl

/-- Above zero, leaky ReLU is the identity. -/
theorem leakyReluQ_pos {alpha x : Q} (h : Q.blt Q.zero x = true) : leakyReluQ alpha x = x := by
  unfold leakyReluQ
  rw [h]
  rfl

/-- At most zero, leaky ReLU is the product with `alpha`. -/
theorem leakyReluQ_nonpos {alpha x : Q} (h : Q.blt Q.zero x = false) :
    leakyReluQ alpha x = Q.mul x alpha := by
  unfold leakyReluQ
  rw [h]
  rfl

/-- The kink `0` clamped into `[l, h]`. -/
def kinkIn (l h : Q) : Q := Q.min (Q.max l Q.zero) h

/-- The least and greatest of leaky ReLU at `l`, `h` and the clamped kink: its range on `[l, h]`,
for either sign of `alpha` (the Python rule's hull). -/
def leakyHull (alpha l h : Q) : Q × Q :=
  (Q.min (Q.min (leakyReluQ alpha l) (leakyReluQ alpha h)) (leakyReluQ alpha (kinkIn l h)),
    Q.max (Q.max (leakyReluQ alpha l) (leakyReluQ alpha h)) (leakyReluQ alpha (kinkIn l h)))

/-- With `alpha < 0`, leaky ReLU on `[l, h]` is least at the clamped kink. -/
theorem leaky_kink_le {alpha l x h : Q} (hal : alpha.WF) (hneg : Q.ble Q.zero alpha = false)
    (e : Between l x h) : leakyReluQ alpha (kinkIn l h) ≤ leakyReluQ alpha x := by
  obtain ⟨wl, wx, wh, hlx, hxh⟩ := e
  have wm : (Q.max l Q.zero).WF := Q.max_wf wl Q.zero_wf
  have wk : (kinkIn l h).WF := Q.min_wf wm wh
  cases hx : Q.blt Q.zero x with
  | false =>
    have x0 := Q.le_zero_of_blt hx
    have l0 : l ≤ Q.zero := Q.le_trans wl wx Q.zero_wf hlx x0
    have l0' : Q.ble l Q.zero = true := l0
    have m0 : Q.max l Q.zero = Q.zero := by unfold Q.max; rw [l0']; rfl
    have k0 : kinkIn l h ≤ Q.zero := by unfold kinkIn; rw [m0]; exact Q.min_le_left' Q.zero_wf wh
    have xk : x ≤ kinkIn l h := by unfold kinkIn; rw [m0]; exact Q.le_min'' x0 hxh
    rw [leakyReluQ_nonpos (Q.blt_of_le_zero k0), leakyReluQ_nonpos hx]
    exact Q.mul_le_mul_of_nonpos wx wk hal hneg xk
  | true =>
    have x0 : Q.zero ≤ x := Q.le_of_blt Q.zero_wf wx hx
    have kx : kinkIn l h ≤ x := Q.le_trans wk wm wx (Q.min_le_left' wm wh) (Q.max_le'' hlx x0)
    have k0 : Q.zero ≤ kinkIn l h :=
      Q.le_min'' (Q.le_max_right' wl Q.zero_wf) (Q.le_trans Q.zero_wf wx wh x0 hxh)
    rw [leakyReluQ_pos hx]
    cases hk : Q.blt Q.zero (kinkIn l h) with
    | false =>
      rw [leakyReluQ_nonpos hk]
      have m : Q.mul (kinkIn l h) alpha ≤ Q.mul Q.zero alpha :=
        Q.mul_le_mul_of_nonpos Q.zero_wf wk hal hneg k0
      rw [Q.zero_mul'] at m
      exact Q.le_trans (Q.mul_wf _ _) Q.zero_wf wx m x0
    | true =>
      rw [leakyReluQ_pos hk]
      exact kx

/-- With `alpha < 0`, leaky ReLU on `[l, h]` is at most its value at an end. -/
theorem leaky_le_end {alpha l x h : Q} (hal : alpha.WF) (hneg : Q.ble Q.zero alpha = false)
    (e : Between l x h) : leakyReluQ alpha x ≤ leakyReluQ alpha l ∨
      leakyReluQ alpha x ≤ leakyReluQ alpha h := by
  obtain ⟨wl, wx, wh, hlx, hxh⟩ := e
  cases hx : Q.blt Q.zero x with
  | false =>
    have l0 : l ≤ Q.zero := Q.le_trans wl wx Q.zero_wf hlx (Q.le_zero_of_blt hx)
    rw [leakyReluQ_nonpos hx, leakyReluQ_nonpos (Q.blt_of_le_zero l0)]
    exact Or.inl (Q.mul_le_mul_of_nonpos wl wx hal hneg hlx)
  | true =>
    rw [leakyReluQ_pos hx, leakyReluQ_pos (Q.lt_of_lt_of_le Q.zero_wf wx wh hx hxh)]
    exact Or.inr hxh

/-- With `alpha < 0`, the hull encloses leaky ReLU of an enclosed point. -/
theorem leakyHull_between {alpha l x h : Q} (hal : alpha.WF) (hneg : Q.ble Q.zero alpha = false)
    (e : Between l x h) : BetweenP (leakyHull alpha l h) (leakyReluQ alpha x) := by
  have fl := leakyReluQ_wf (alpha := alpha) e.1
  have fx := leakyReluQ_wf (alpha := alpha) e.2.1
  have fh := leakyReluQ_wf (alpha := alpha) e.2.2.1
  have fk := leakyReluQ_wf (alpha := alpha)
    (Q.min_wf (Q.max_wf e.1 Q.zero_wf) e.2.2.1 : (kinkIn l h).WF)
  have m1 := Q.min_wf fl fh
  have m2 := Q.max_wf fl fh
  refine ⟨Q.min_wf m1 fk, fx, Q.max_wf m2 fk, ?_, ?_⟩
  · exact Q.le_trans (Q.min_wf m1 fk) fk fx Q.min_le_right' (leaky_kink_le hal hneg e)
  · cases leaky_le_end hal hneg e with
    | inl h1 =>
      exact Q.le_trans fx fl (Q.max_wf m2 fk) h1
        (Q.le_trans fl m2 (Q.max_wf m2 fk) Q.le_max_left' Q.le_max_left')
    | inr h1 =>
      exact Q.le_trans fx fh (Q.max_wf m2 fk) h1
        (Q.le_trans fh m2 (Q.max_wf m2 fk) (Q.le_max_right' fl fh) Q.le_max_left')

/-- The hulls of enclosed points. -/
theorem within_leakyHull {alpha : Q} (hal : alpha.WF) (hneg : Q.ble Q.zero alpha = false) :
    {lo x hi : List Q} → Within lo x hi →
    All2 BetweenP (zipWithL (leakyHull alpha) lo hi) (x.map (leakyReluQ alpha))
  | _, _, _, .nil => All2.nil
  | _, _, _, .cons e w => All2.cons (leakyHull_between hal hneg e) (within_leakyHull hal hneg w)

end Pytorch2Lean