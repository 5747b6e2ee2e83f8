/-
The well-formedness check of `WellFormed.lean` in a form the kernel evaluates in steps about
`n log n` in the graph's size: what an export's `outputShapes` has the kernel evaluate
(`inferShapesFast_sound`).

`inferShapes` costs the kernel steps quadratic in the graph, twice: it looks up operand `a` with
`nth` in a value table that grows by `env ++ [s]` (a walk of `a` cells through a left-nested
append, for every operand of every node), and `used` searches the nodes once per parameter.
DenseNet-121 at growth 8 (426 nodes, 606 parameters, operands at indices up to 1032) took 190 s of
CPU and 15.6 GiB of kernel terms; the parameters' use alone some 45 s and 4.5 GiB.

Here the value table is known in advance, since every node that checks states its shape: the
inputs, the parameters, then each node's stated shape (`allShapes`). It is built once as a
balanced tree (`Tab`, a lookup in logarithmic steps), node `k` may read only its first `nIn + nPar
+ k` entries, and the parameters' use is checked by sorting all operands once (`coversRange`).
`inferShapesFast_eq` proves it equal to `inferShapes` (the lookups agree with `argShapes`, the
sort is a sorted permutation), so `inferShapesFast_sound` is `inferShapes_sound`.
-/
import Pytorch2Lean.WellFormed

namespace Pytorch2Lean

/-! ### A list as a balanced tree -/

/-- A list as a binary tree: `two n l r` lists the elements of `l` (`n` of them), then `r`'s. -/
inductive Tab (α : Type) where
  | nil : Tab α
  | one (a : α) : Tab α
  | two (n : Nat) (l r : Tab α) : Tab α

namespace Tab

/-- Element `i`, going left when `i` is below the left part's count. -/
def get {α : Type} : Tab α → Nat → Option α
  | nil, _ => none
  | one a, i => cond (Nat.beq i 0) (some a) none
  | two n l r, i => cond (natLt i n) (get l i) (get r (Nat.sub i n))

/-- The list as a right comb (what `ofList` ends with on lists of at most one element). -/
def chain {α : Type} : List α → Tab α
  | [] => nil
  | a :: as => two 1 (one a) (chain as)

/-- The list split in halves, `fuel` times deep (the length suffices), each half counted. -/
def ofList {α : Type} : Nat → List α → Tab α
  | 0, l => chain l
  | fuel + 1, l =>
    cond (Nat.ble l.length 1) (chain l)
      (two (l.take (Nat.div l.length 2)).length (ofList fuel (l.take (Nat.div l.length 2)))
        (ofList fuel (l.drop (Nat.div l.length 2))))

end Tab

/-- `(i + 1) - (n + 1) = i - n`. -/
theorem tab_sub_succ (i : Nat) : (n : Nat) → Nat.sub (i + 1) (n + 1) = Nat.sub i n
  | 0 => rfl
  | n + 1 => congrArg Nat.pred (tab_sub_succ i n)

/-- Element `i` of an append: from the first part below its length, else from the second. -/
theorem nth_append_cond {α : Type} : (l r : List α) → (i : Nat) →
    nth (l ++ r) i = cond (natLt i l.length) (nth l i) (nth r (Nat.sub i l.length))
  | [], _, _ => rfl
  | a :: bs, r, 0 => by
    show some a = cond (Nat.ble 1 (bs.length + 1)) (some a) _
    rw [nat_ble_eq_true_of_le (nat_succ_le_succ (nat_zero_le bs.length))]
    rfl
  | _ :: bs, r, i + 1 => by
    show nth (bs ++ r) i = cond (Nat.ble (i + 1) bs.length) (nth bs i) (nth r (Nat.sub (i + 1) (bs.length + 1)))
    rw [tab_sub_succ i bs.length, nth_append_cond bs r i]
    rfl

/-- A prefix and the rest make the list. -/
theorem list_take_append_drop {α : Type} : (n : Nat) → (l : List α) → l.take n ++ l.drop n = l
  | 0, _ => rfl
  | _ + 1, [] => rfl
  | n + 1, a :: as => congrArg (a :: ·) (list_take_append_drop n as)

/-- `chain` keeps the elements. -/
theorem Tab.get_chain {α : Type} : (l : List α) → (i : Nat) → (Tab.chain l).get i = nth l i
  | [], _ => rfl
  | _ :: _, 0 => rfl
  | _ :: as, i + 1 => Tab.get_chain as i

/-- `ofList` keeps the elements. -/
theorem Tab.get_ofList {α : Type} : (fuel : Nat) → (l : List α) → (i : Nat) → (Tab.ofList fuel l).get i = nth l i
  | 0, l, i => Tab.get_chain l i
  | fuel + 1, l, i => by
    show (cond (Nat.ble l.length 1) (Tab.chain l) (Tab.two _ _ _)).get i = nth l i
    cases Nat.ble l.length 1 with
    | true => exact Tab.get_chain l i
    | false =>
      show cond (natLt i _) ((Tab.ofList fuel _).get i) ((Tab.ofList fuel _).get (Nat.sub i _)) = nth l i
      rw [Tab.get_ofList fuel, Tab.get_ofList fuel, ← nth_append_cond, list_take_append_drop]

/-! ### Parameters used: all operands sorted once -/

/-- `a` inserted into a sorted list before its first larger element. -/
def insertNat (a : Nat) : List Nat → List Nat
  | [] => [a]
  | y :: ys => cond (Nat.ble a y) (a :: y :: ys) (y :: insertNat a ys)

/-- The elements of `xs` inserted into the sorted list `ys` (insertion sort for `ys = []`). -/
def insertAll : List Nat → List Nat → List Nat
  | [], ys => ys
  | x :: xs, ys => insertNat x (insertAll xs ys)

/-- Two sorted lists merged (`fuel`: their total length suffices; without fuel, by insertion). -/
def mergeNat : Nat → List Nat → List Nat → List Nat
  | 0, xs, ys => insertAll xs ys
  | _ + 1, [], ys => ys
  | _ + 1, x :: xs, [] => x :: xs
  | f + 1, x :: xs, y :: ys =>
    cond (Nat.ble x y) (x :: mergeNat f xs (y :: ys)) (y :: mergeNat f (x :: xs) ys)

/-- Merge sort, split in halves `fuel` times deep (the length suffices; without fuel, by insertion). -/
def sortNat : Nat → List Nat → List Nat
  | 0, l => insertAll l []
  | f + 1, l =>
    cond (Nat.ble l.length 1) (insertAll l [])
      (mergeNat l.length (sortNat f (l.take (Nat.div l.length 2))) (sortNat f (l.drop (Nat.div l.length 2))))

/-- `true` when `k, k + 1, ..., k + c - 1` occur in the sorted list, in one pass. -/
def coversRange : Nat → Nat → List Nat → Bool
  | _, 0, _ => true
  | _, _ + 1, [] => false
  | k, c + 1, a :: as => cond (natLt a k) (coversRange k (c + 1) as) (Nat.beq a k && coversRange (k + 1) c as)

/-- Every node's operands, in order. -/
def allArgs : List Node → List Nat
  | [] => []
  | n :: ns => n.args ++ allArgs ns

/-- `true` when every parameter is an operand of some node (`used`), by one sort. -/
def paramsUsedFast (g : Graph) : Bool :=
  coversRange g.inputs.length g.params.length (sortNat (allArgs g.nodes).length (allArgs g.nodes))

/-- A member of an append is a member of one part. -/
theorem list_mem_append_or {α : Type} {x : α} : (l r : List α) → x ∈ l ++ r → x ∈ l ∨ x ∈ r
  | [], _, h => Or.inr h
  | _ :: _, _, .head _ => Or.inl (.head _)
  | _ :: bs, r, .tail _ h => (list_mem_append_or bs r h).elim (fun h => Or.inl (.tail _ h)) Or.inr

/-- A member of the first part is a member of an append. -/
theorem list_mem_append_left {α : Type} {x : α} : (l r : List α) → x ∈ l → x ∈ l ++ r
  | _ :: _, _, .head _ => .head _
  | _ :: bs, r, .tail _ h => .tail _ (list_mem_append_left bs r h)

/-- A member of the second part is a member of an append. -/
theorem list_mem_append_right {α : Type} {x : α} : (l r : List α) → x ∈ r → x ∈ l ++ r
  | [], _, h => h
  | _ :: bs, r, h => .tail _ (list_mem_append_right bs r h)

/-- `insertNat` adds exactly `a`. -/
theorem insertNat_mem {x a : Nat} : (ys : List Nat) → x ∈ insertNat a ys → x = a ∨ x ∈ ys
  | [], h => by
    have h' : x ∈ [a] := h
    cases h' with
    | head => exact Or.inl rfl
    | tail _ h2 => exact nomatch h2
  | y :: ys, h => by
    have h' : x ∈ cond (Nat.ble a y) (a :: y :: ys) (y :: insertNat a ys) := h
    cases hb : Nat.ble a y with
    | true =>
      rw [hb] at h'
      cases h' with
      | head => exact Or.inl rfl
      | tail _ h2 => exact Or.inr h2
    | false =>
      rw [hb] at h'
      cases h' with
      | head => exact Or.inr (.head _)
      | tail _ h2 => exact (insertNat_mem ys h2).elim Or.inl (fun h3 => Or.inr (.tail _ h3))

/-- `insertAll` keeps only members of the two lists. -/
theorem insertAll_mem {x : Nat} : (xs ys : List Nat) → x ∈ insertAll xs ys → x ∈ xs ∨ x ∈ ys
  | [], _, h => Or.inr h
  | a :: as, ys, h => (insertNat_mem _ h).elim (fun e => by rw [e]; exact Or.inl (.head _))
      (fun h2 => (insertAll_mem as ys h2).elim (fun h3 => Or.inl (.tail _ h3)) Or.inr)

/-- Merging keeps only members of the two lists. -/
theorem mergeNat_mem {x : Nat} : (f : Nat) → (xs ys : List Nat) → x ∈ mergeNat f xs ys → x ∈ xs ∨ x ∈ ys
  | 0, xs, ys, h => insertAll_mem xs ys h
  | _ + 1, [], _, h => Or.inr h
  | _ + 1, _ :: _, [], h => Or.inl h
  | f + 1, a :: as, b :: bs, h => by
    have h' : x ∈ cond (Nat.ble a b) (a :: mergeNat f as (b :: bs)) (b :: mergeNat f (a :: as) bs) := h
    cases hb : Nat.ble a b with
    | true =>
      rw [hb] at h'
      cases h' with
      | head => exact Or.inl (.head _)
      | tail _ h2 => exact (mergeNat_mem f as (b :: bs) h2).elim (fun h3 => Or.inl (.tail _ h3)) Or.inr
    | false =>
      rw [hb] at h'
      cases h' with
      | head => exact Or.inr (.head _)
      | tail _ h2 => exact (mergeNat_mem f (a :: as) bs h2).elim Or.inl (fun h3 => Or.inr (.tail _ h3))

/-- Sorting keeps only members of the list. -/
theorem sortNat_mem {x : Nat} : (f : Nat) → (l : List Nat) → x ∈ sortNat f l → x ∈ l
  | 0, l, h => (insertAll_mem l [] h).elim id (fun h2 => nomatch h2)
  | f + 1, l, h => by
    have h' : x ∈ cond (Nat.ble l.length 1) (insertAll l []) (mergeNat l.length
        (sortNat f (l.take (Nat.div l.length 2))) (sortNat f (l.drop (Nat.div l.length 2)))) := h
    cases hb : Nat.ble l.length 1 with
    | true => rw [hb] at h'; exact (insertAll_mem l [] h').elim id (fun h2 => nomatch h2)
    | false =>
      rw [hb] at h'
      rw [← list_take_append_drop (Nat.div l.length 2) l]
      exact (mergeNat_mem _ _ _ h').elim
        (fun h2 => list_mem_append_left _ _ (sortNat_mem f _ h2))
        (fun h2 => list_mem_append_right _ _ (sortNat_mem f _ h2))

/-- `coversRange k c l` finds `k + j` in `l` for every `j < c`. -/
theorem coversRange_sound : (l : List Nat) → (k c : Nat) → coversRange k c l = true → ∀ j, j < c → k + j ∈ l
  | _, _, 0, _, j, hj => absurd hj (nat_not_succ_le_zero j)
  | [], _, _ + 1, h, _, _ => Bool.noConfusion h
  | a :: as, k, c + 1, h, j, hj => by
    have h' : cond (natLt a k) (coversRange k (c + 1) as) (Nat.beq a k && coversRange (k + 1) c as) = true := h
    cases hl : natLt a k with
    | true => rw [hl] at h'; exact .tail _ (coversRange_sound as k (c + 1) h' j hj)
    | false =>
      rw [hl] at h'
      have h2 := and_true_split h'
      cases j with
      | zero => rw [nat_eq_of_beq_eq_true h2.1]; exact .head _
      | succ j =>
        have r := coversRange_sound as (k + 1) c h2.2 j (nat_le_of_succ_le_succ hj)
        rw [nat_succ_add] at r
        exact .tail _ r

/-- An operand in `allArgs` is an operand of one of the nodes. -/
theorem allArgs_mem {x : Nat} : (ns : List Node) → x ∈ allArgs ns → ∃ n, n ∈ ns ∧ x ∈ n.args
  | [], h => nomatch h
  | n :: ns, h => (list_mem_append_or n.args (allArgs ns) h).elim (fun h2 => ⟨n, .head _, h2⟩)
      (fun h2 => (allArgs_mem ns h2).elim (fun m hm => ⟨m, .tail _ hm.1, hm.2⟩))

/-- `paramsUsedFast` means every parameter is used. -/
theorem paramsUsedFast_sound (g : Graph) (h : paramsUsedFast g = true) :
    ∀ k, k < g.params.length → ∃ n, n ∈ g.nodes ∧ g.inputs.length + k ∈ n.args :=
  fun k hk => allArgs_mem g.nodes (sortNat_mem _ _ (coversRange_sound _ _ _ h k hk))

/-! ### The typing pass against the table -/

/-- `argShapes`, with the value table as a `Tab` of which only the first `len` entries count. -/
def argShapesFast (tab : Tab Shape) (len : Nat) : List Nat → Option (List Shape)
  | [] => some []
  | a :: as =>
    cond (natLt a len)
      (match tab.get a with
        | none => none
        | some s => (argShapesFast tab len as).map (s :: ·))
      none

/-- `nodeShape`, with `argShapesFast`. -/
def nodeShapeFast (nIn nPar : Nat) (tab : Tab Shape) (len : Nat) (n : Node) : Option Shape :=
  obind (argShapesFast tab len n.args) fun ins =>
  obind (opShape n.op n.attrs ins) fun s =>
  guard (nodeChecks nIn nPar n s) (some s)

/-- `true` when every node checks, node `k` reading the first `len + k` entries of `tab`. -/
def typeNodesFast (nIn nPar : Nat) (tab : Tab Shape) : Nat → List Node → Bool
  | _, [] => true
  | len, n :: ns =>
    match nodeShapeFast nIn nPar tab len n with
    | none => false
    | some _ => typeNodesFast nIn nPar tab (len + 1) ns

/-- The value table of a graph whose nodes have their stated shapes. -/
def allShapes (g : Graph) : List Shape := (g.inputs ++ g.params) ++ g.nodes.map (fun n => n.shape)

/-- `graphChecks` with `paramsUsedFast` for the parameters' use. -/
def graphChecksFast (g : Graph) : Bool :=
  g.inputs.all allPos && g.params.all allPos && paramsUsedFast g &&
    !(isNil g.outputs) && g.outputs.all (outputOk g) && nodupNat g.outputs

/-- `inferShapes`, in steps about linear in the graph: the table of `allShapes` built once, every
node checked against its first entries. -/
def inferShapesFast (g : Graph) : Option (List Shape) :=
  cond (graphChecksFast g &&
      typeNodesFast g.inputs.length g.params.length (Tab.ofList (allShapes g).length (allShapes g))
        (g.inputs ++ g.params).length g.nodes)
    (some (g.outputs.map (fun o => ((Tab.ofList (allShapes g).length (allShapes g)).get o).getD [])))
    none

/-! ### The lookups agree with `argShapes` -/

/-- Past the end there is nothing. -/
theorem nth_of_le_length {α : Type} : (l : List α) → (a : Nat) → l.length ≤ a → nth l a = none
  | [], _, _ => rfl
  | _ :: _, 0, h => absurd h (nat_not_succ_le_zero _)
  | _ :: bs, a + 1, h => nth_of_le_length bs a (nat_le_of_succ_le_succ h)

/-- Against a table agreeing with `env` below `env.length`, `argShapesFast` is `argShapes`. -/
theorem argShapesFast_eq (tab : Tab Shape) (env rest : List Shape) (htab : ∀ a, tab.get a = nth (env ++ rest) a) :
    (args : List Nat) → argShapesFast tab env.length args = argShapes env args
  | [] => rfl
  | a :: as => by
    show cond (natLt a env.length) _ none = (match nth env a with
      | none => none
      | some s => (argShapes env as).map (s :: ·))
    cases hl : natLt a env.length with
    | true =>
      show (match tab.get a with
        | none => none
        | some s => (argShapesFast tab env.length as).map (s :: ·)) = _
      rw [htab, nth_append_cond, hl, argShapesFast_eq tab env rest htab as]
      rfl
    | false =>
      rw [nth_of_le_length env a (nat_le_of_lt_succ (nat_lt_of_ble_false hl))]
      rfl

/-- Appending is associative. -/
theorem list_append_assoc {α : Type} : (a b c : List α) → (a ++ b) ++ c = a ++ (b ++ c)
  | [], _, _ => rfl
  | x :: xs, b, c => congrArg (x :: ·) (list_append_assoc xs b c)

/-- Mapping with functions that agree everywhere. -/
theorem list_map_congr {α β : Type} {f f' : α → β} (h : ∀ x, f x = f' x) : (l : List α) → l.map f = l.map f'
  | [] => rfl
  | x :: xs => by
    show f x :: xs.map f = f' x :: xs.map f'
    rw [h x, list_map_congr h xs]

/-! ### Equality with `inferShapes`

`inferShapesFast` accepts exactly the graphs `inferShapes` accepts, with the same shapes
(`inferShapesFast_eq`): the per-node checks are the same (`argShapesFast_eq`), and the sort is a
sorted permutation of the operands, so `coversRange` finds every parameter that `used` finds. -/

/-- A list in ascending order. -/
inductive SortedNat : List Nat → Prop
  | nil : SortedNat []
  | cons {a : Nat} {as : List Nat} : (∀ x, x ∈ as → a ≤ x) → SortedNat as → SortedNat (a :: as)

/-- A member that is not the head is in the tail. -/
theorem mem_tail_of_lt {x a : Nat} {as : List Nat} (h : x ∈ a :: as) (ne : a < x ∨ x < a) : x ∈ as := by
  cases h with
  | head => exact absurd (ne.elim id id) (nat_lt_irrefl _)
  | tail _ h2 => exact h2

/-- `k ≤ k + j`. -/
theorem le_add_self (k j : Nat) : k ≤ k + j := by
  rw [nat_add_comm]
  exact nat_le_add_left k j

/-- `insertNat` keeps every member and adds `a`. -/
theorem insertNat_mem_of {x a : Nat} : (ys : List Nat) → (x = a ∨ x ∈ ys) → x ∈ insertNat a ys
  | [], h => h.elim (fun e => by rw [e]; exact .head _) (fun h2 => nomatch h2)
  | y :: ys, h => by
    show x ∈ cond (Nat.ble a y) (a :: y :: ys) (y :: insertNat a ys)
    cases Nat.ble a y with
    | true => exact h.elim (fun e => by rw [e]; exact .head _) (fun h2 => .tail _ h2)
    | false =>
      exact h.elim (fun e => .tail _ (insertNat_mem_of ys (Or.inl e)))
        (fun h2 => by
          cases h2 with
          | head => exact .head _
          | tail _ h3 => exact .tail _ (insertNat_mem_of ys (Or.inr h3)))

/-- `insertAll` keeps every member of both lists. -/
theorem insertAll_mem_of {x : Nat} : (xs ys : List Nat) → (x ∈ xs ∨ x ∈ ys) → x ∈ insertAll xs ys
  | [], _, h => h.elim (fun h2 => nomatch h2) id
  | a :: as, ys, h => insertNat_mem_of _ (h.elim
      (fun h2 => by
        cases h2 with
        | head => exact Or.inl rfl
        | tail _ h3 => exact Or.inr (insertAll_mem_of as ys (Or.inl h3)))
      (fun h2 => Or.inr (insertAll_mem_of as ys (Or.inr h2))))

/-- Inserting into a sorted list keeps it sorted. -/
theorem insertNat_sorted (a : Nat) : (ys : List Nat) → SortedNat ys → SortedNat (insertNat a ys)
  | [], _ => .cons (fun _ h => nomatch h) .nil
  | y :: ys, .cons hy hys => by
    show SortedNat (cond (Nat.ble a y) (a :: y :: ys) (y :: insertNat a ys))
    cases hb : Nat.ble a y with
    | true =>
      have hay : a ≤ y := nat_le_of_ble_eq_true hb
      exact .cons (fun x hx => by
          cases hx with
          | head => exact hay
          | tail _ h2 => exact nat_le_trans hay (hy x h2)) (.cons hy hys)
    | false =>
      have hya : y ≤ a := nat_le_of_lt (nat_lt_of_ble_false hb)
      exact .cons (fun x hx => (insertNat_mem ys hx).elim (fun e => by rw [e]; exact hya) (hy x))
        (insertNat_sorted a ys hys)

/-- Inserting into a sorted list keeps it sorted. -/
theorem insertAll_sorted : (xs ys : List Nat) → SortedNat ys → SortedNat (insertAll xs ys)
  | [], _, h => h
  | a :: as, ys, h => insertNat_sorted a _ (insertAll_sorted as ys h)

/-- Merging keeps every member of both lists. -/
theorem mergeNat_mem_of {x : Nat} : (f : Nat) → (xs ys : List Nat) → (x ∈ xs ∨ x ∈ ys) → x ∈ mergeNat f xs ys
  | 0, xs, ys, h => insertAll_mem_of xs ys h
  | _ + 1, [], _, h => h.elim (fun h2 => nomatch h2) id
  | _ + 1, _ :: _, [], h => h.elim id (fun h2 => nomatch h2)
  | f + 1, a :: as, b :: bs, h => by
    show x ∈ cond (Nat.ble a b) (a :: mergeNat f as (b :: bs)) (b :: mergeNat f (a :: as) bs)
    cases Nat.ble a b with
    | true =>
      exact h.elim (fun h2 => by
          cases h2 with
          | head => exact .head _
          | tail _ h3 => exact .tail _ (mergeNat_mem_of f as (b :: bs) (Or.inl h3)))
        (fun h2 => .tail _ (mergeNat_mem_of f as (b :: bs) (Or.inr h2)))
    | false =>
      exact h.elim (fun h2 => .tail _ (mergeNat_mem_of f (a :: as) bs (Or.inl h2)))
        (fun h2 => by
          cases h2 with
          | head => exact .head _
          | tail _ h3 => exact .tail _ (mergeNat_mem_of f (a :: as) bs (Or.inr h3)))

/-- Merging sorted lists gives a sorted list. -/
theorem mergeNat_sorted : (f : Nat) → (xs ys : List Nat) → SortedNat xs → SortedNat ys →
    SortedNat (mergeNat f xs ys)
  | 0, xs, ys, _, hy => insertAll_sorted xs ys hy
  | _ + 1, [], _, _, hy => hy
  | _ + 1, _ :: _, [], hx, _ => hx
  | f + 1, a :: as, b :: bs, .cons ha has, .cons hb hbs => by
    show SortedNat (cond (Nat.ble a b) (a :: mergeNat f as (b :: bs)) (b :: mergeNat f (a :: as) bs))
    cases hab : Nat.ble a b with
    | true =>
      have le : a ≤ b := nat_le_of_ble_eq_true hab
      exact .cons (fun x hm => (mergeNat_mem f as (b :: bs) hm).elim (ha x)
          (fun h2 => by
            cases h2 with
            | head => exact le
            | tail _ h3 => exact nat_le_trans le (hb x h3)))
        (mergeNat_sorted f as (b :: bs) has (.cons hb hbs))
    | false =>
      have le : b ≤ a := nat_le_of_lt (nat_lt_of_ble_false hab)
      exact .cons (fun x hm => (mergeNat_mem f (a :: as) bs hm).elim
          (fun h2 => by
            cases h2 with
            | head => exact le
            | tail _ h3 => exact nat_le_trans le (ha x h3))
          (hb x))
        (mergeNat_sorted f (a :: as) bs (.cons ha has) hbs)

/-- `sortNat` sorts. -/
theorem sortNat_sorted : (f : Nat) → (l : List Nat) → SortedNat (sortNat f l)
  | 0, l => insertAll_sorted l [] .nil
  | f + 1, l => by
    show SortedNat (cond (Nat.ble l.length 1) (insertAll l []) (mergeNat l.length
        (sortNat f (l.take (Nat.div l.length 2))) (sortNat f (l.drop (Nat.div l.length 2)))))
    cases Nat.ble l.length 1 with
    | true => exact insertAll_sorted l [] .nil
    | false => exact mergeNat_sorted _ _ _ (sortNat_sorted f _) (sortNat_sorted f _)

/-- `sortNat` keeps every member. -/
theorem sortNat_mem_of {x : Nat} : (f : Nat) → (l : List Nat) → x ∈ l → x ∈ sortNat f l
  | 0, l, h => insertAll_mem_of l [] (Or.inl h)
  | f + 1, l, h => by
    show x ∈ cond (Nat.ble l.length 1) (insertAll l []) (mergeNat l.length
        (sortNat f (l.take (Nat.div l.length 2))) (sortNat f (l.drop (Nat.div l.length 2))))
    cases Nat.ble l.length 1 with
    | true => exact insertAll_mem_of l [] (Or.inl h)
    | false =>
      have h2 : x ∈ l.take (Nat.div l.length 2) ++ l.drop (Nat.div l.length 2) := by
        rw [list_take_append_drop]; exact h
      exact mergeNat_mem_of _ _ _ ((list_mem_append_or _ _ h2).elim
        (fun h3 => Or.inl (sortNat_mem_of f _ h3)) (fun h3 => Or.inr (sortNat_mem_of f _ h3)))

/-- On a sorted list holding `k, ..., k + c - 1`, `coversRange` is `true`. -/
theorem coversRange_complete : (l : List Nat) → SortedNat l → (k c : Nat) → (∀ j, j < c → k + j ∈ l) →
    coversRange k c l = true
  | [], _, _, 0, _ => rfl
  | _ :: _, _, _, 0, _ => rfl
  | [], _, _, _ + 1, h => nomatch (h 0 (nat_succ_pos _))
  | a :: as, .cons ha has, k, c + 1, h => by
    show cond (natLt a k) (coversRange k (c + 1) as) (Nat.beq a k && coversRange (k + 1) c as) = true
    cases hl : natLt a k with
    | true =>
      have lt : a + 1 ≤ k := nat_le_of_ble_eq_true hl
      exact coversRange_complete as has k (c + 1) (fun j hj =>
        mem_tail_of_lt (h j hj) (Or.inl (nat_le_trans lt (le_add_self k j))))
    | false =>
      have ge : k ≤ a := nat_le_of_lt_succ (nat_lt_of_ble_false hl)
      have m0 : k ∈ a :: as := h 0 (nat_succ_pos c)
      have e : a = k := by
        cases nat_eq_or_lt_of_le ge with
        | inl e => exact e.symm
        | inr lt => exact absurd (nat_lt_of_lt_of_le lt (ha k (mem_tail_of_lt m0 (Or.inr lt)))) (nat_lt_irrefl k)
      show (Nat.beq a k && coversRange (k + 1) c as) = true
      rw [e, nat_beq_refl]
      show coversRange (k + 1) c as = true
      refine coversRange_complete as has (k + 1) c (fun j hj => ?_)
      have m : k + (j + 1) ∈ as := mem_tail_of_lt (h (j + 1) (nat_succ_le_succ hj))
        (Or.inl (by rw [e]; exact nat_succ_le_succ (le_add_self k j)))
      rw [nat_succ_add]
      exact m

/-- An operand of one of the nodes is in `allArgs`. -/
theorem allArgs_mem_of {x : Nat} {n : Node} : (ns : List Node) → n ∈ ns → x ∈ n.args → x ∈ allArgs ns
  | _ :: _, .head _, h => list_mem_append_left _ _ h
  | m :: ns, .tail _ hn, h => list_mem_append_right m.args (allArgs ns) (allArgs_mem_of ns hn h)

/-- `List.any` is true when the predicate holds for a member. -/
theorem any_complete {α : Type} {p : α → Bool} {x : α} : (l : List α) → x ∈ l → p x = true → l.any p = true
  | _ :: _, .head _, h => by
    show (p _ || _) = true
    rw [h]
    rfl
  | a :: as, .tail _ hx, h => by
    show (p a || as.any p) = true
    rw [any_complete as hx h]
    cases p a <;> rfl

/-- `allBelow n p` when `p k` for every `k < n`. -/
theorem allBelow_complete {p : Nat → Bool} : (n : Nat) → (∀ k, k < n → p k = true) → allBelow n p = true
  | 0, _ => rfl
  | n + 1, h => by
    show (allBelow n p && p n) = true
    rw [allBelow_complete n (fun k hk => h k (nat_le_trans hk (nat_le_succ n))), h n (nat_le_refl _)]
    rfl

/-- The sort finds the same used parameters as `used`. -/
theorem paramsUsedFast_eq (g : Graph) :
    paramsUsedFast g = allBelow g.params.length (fun k => used g (g.inputs.length + k)) := by
  cases h : paramsUsedFast g with
  | true =>
    exact (allBelow_complete _ (fun k hk => by
      obtain ⟨n, hn, ha⟩ := paramsUsedFast_sound g h k hk
      exact any_complete g.nodes hn (memNat_complete ha))).symm
  | false =>
    cases h2 : allBelow g.params.length (fun k => used g (g.inputs.length + k)) with
    | false => rfl
    | true =>
      have c : paramsUsedFast g = true := coversRange_complete _ (sortNat_sorted _ _) _ _ (fun k hk => by
        obtain ⟨n, hn, hu⟩ := any_sound g.nodes (allBelow_sound _ h2 k hk)
        exact sortNat_mem_of _ _ (allArgs_mem_of g.nodes hn (memNat_sound n.args hu)))
      rw [h] at c
      exact Bool.noConfusion c

/-- `graphChecksFast` is `graphChecks`. -/
theorem graphChecksFast_eq (g : Graph) : graphChecksFast g = graphChecks g := by
  unfold graphChecksFast graphChecks
  rw [paramsUsedFast_eq]

/-- Against the table of `env` and the nodes' stated shapes, `typeNodes` gives that table exactly
when `typeNodesFast` is `true`. -/
theorem typeNodesFast_eq (nIn nPar : Nat) (tab : Tab Shape) (full : List Shape)
    (htab : ∀ a, tab.get a = nth full a) : (env : List Shape) → (ns : List Node) →
    full = env ++ ns.map (fun n => n.shape) →
    typeNodes nIn nPar env ns = cond (typeNodesFast nIn nPar tab env.length ns) (some full) none
  | env, [], hf => by
    rw [hf, show env ++ ([] : List Node).map (fun n => n.shape) = env ++ [] from rfl, list_append_nil env]
    rfl
  | env, n :: ns, hf => by
    have ht : ∀ a, tab.get a = nth (env ++ (n :: ns).map (fun n => n.shape)) a := fun a => by rw [htab, hf]
    have e : nodeShapeFast nIn nPar tab env.length n = nodeShape nIn nPar env n := by
      show obind (argShapesFast tab env.length n.args) _ = obind (argShapes env n.args) _
      rw [argShapesFast_eq tab env _ ht n.args]
    show (match nodeShape nIn nPar env n with
      | none => none
      | some s => typeNodes nIn nPar (env ++ [s]) ns) =
      cond (match nodeShapeFast nIn nPar tab env.length n with
        | none => false
        | some _ => typeNodesFast nIn nPar tab (env.length + 1) ns) (some full) none
    rw [e]
    cases hn : nodeShape nIn nPar env n with
    | none => rfl
    | some s =>
      have hs : n.shape = s := (nodeShape_sound nIn nPar env n s hn).stated
      have hf' : full = (env ++ [s]) ++ ns.map (fun n => n.shape) := by
        rw [hf, list_append_assoc, ← hs]
        rfl
      show typeNodes nIn nPar (env ++ [s]) ns = cond (typeNodesFast nIn nPar tab (env.length + 1) ns) (some full) none
      rw [← list_length_snoc s env]
      exact typeNodesFast_eq nIn nPar tab full htab (env ++ [s]) ns hf'

/-- `inferShapesFast` is `inferShapes`. -/
theorem inferShapesFast_eq (g : Graph) : inferShapesFast g = inferShapes g := by
  have htab : ∀ a, (Tab.ofList (allShapes g).length (allShapes g)).get a = nth (allShapes g) a :=
    Tab.get_ofList _ _
  have hv : valueShapes g = cond (typeNodesFast g.inputs.length g.params.length
      (Tab.ofList (allShapes g).length (allShapes g)) (g.inputs ++ g.params).length g.nodes) (some (allShapes g)) none :=
    typeNodesFast_eq _ _ _ (allShapes g) htab (g.inputs ++ g.params) g.nodes rfl
  unfold inferShapesFast inferShapes
  rw [graphChecksFast_eq, hv]
  cases graphChecks g with
  | false => rfl
  | true =>
    cases typeNodesFast g.inputs.length g.params.length (Tab.ofList (allShapes g).length (allShapes g))
        (g.inputs ++ g.params).length g.nodes with
    | false => rfl
    | true => exact congrArg some (list_map_congr (fun o => by rw [htab]; rfl) g.outputs)

/-- Shapes `inferShapesFast` infers are the output shapes of a well-formed graph: what an
export's `outputShapes` cites, with one kernel evaluation of `inferShapesFast`. -/
theorem inferShapesFast_sound (g : Graph) (outs : List Shape) (h : inferShapesFast g = some outs) :
    HasShapes g outs :=
  inferShapes_sound g outs ((inferShapesFast_eq g).symm.trans h)

end Pytorch2Lean
