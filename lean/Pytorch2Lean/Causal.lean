/-
The attention-mask contract of causal self-attention: the twin of `pytorch2lean/lean/causal.py`.

The torch frontend lowers `scaled_dot_product_attention(is_causal=True)` to
`softmax(scores + mask)` with an additive `L × L` constant `mask`: `0` where key `j ≤` query `i`
and `-10^9` above the diagonal. `CausalAttention g P k L` says two things about parameter `k`:

* `CausalMask`: its values (as `denote` reads them from `P`) are `0` on and below the diagonal
  and at most `-10^9` above it;
* `MaskFeedsScores`: in the graph, the mask is used only as the second operand of `add` nodes
  whose result has trailing axes `L × L` (so entry `(i, j)` of the mask meets the score of query
  `i` and key `j`), each such sum is an operand of at least one node and of no node but a
  softmax over its last (key) axis, and it is not a graph output.

It does not say that output position `i` is independent of inputs at positions `> i`: with a
finite additive mask the exact softmax gives a future key a weight that is positive, though
below `exp(-10^9 + s - max)` for the row's scores `s`. Nor does it say which axis of the scores
a query position is: that is the graph itself, which the kernel has checked only for shapes.
-/
import Pytorch2Lean.Q
import Pytorch2Lean.WellFormed

namespace Pytorch2Lean

/-- `-10^9`, the mask value of a future key. -/
def maskFloor : Q := -(1000000000 : Q)

/-- A row-major `L × L` matrix `m` is a causal additive mask. -/
structure CausalMask (m : List Q) (L : Nat) : Prop where
  /-- The mask has `L * L` entries. -/
  size : m.length = L * L
  /-- Entry `(i, j)` with key `j ≤` query `i` is zero. -/
  lower : ∀ i j, j ≤ i → i < L → nthD m (i * L + j) 0 = 0
  /-- Entry `(i, j)` with key `j >` query `i` is at most `-10^9`. -/
  upper : ∀ i j, i < j → j < L → nthD m (i * L + j) 0 ≤ maskFloor

/-- The check of entry `(i, j)` of a causal mask. -/
def maskEntryOk (m : List Q) (L i j : Nat) : Bool :=
  cond (Nat.ble j i) (decide (nthD m (i * L + j) 0 = 0)) (Q.ble (nthD m (i * L + j) 0) maskFloor)

/-- The causal-mask checker, evaluated by the kernel. -/
def checkCausalMask (m : List Q) (L : Nat) : Bool :=
  Nat.beq m.length (L * L) && allBelow L (fun i => allBelow L (fun j => maskEntryOk m L i j))

/-- `true` when node `c` is a softmax over the last axis of the single operand `v`. -/
def softmaxLastOf (v : Nat) (c : Node) : Bool :=
  decide (c.op = .softmax) && decide (c.args = [v]) &&
    (match attrInt c.attrs .axis with
      | some a => decide (a = -1)
      | none => false)

/-- `true` when the value `v` is used, only by softmaxes over its last axis, and is no output. -/
def onlySoftmaxed (g : Graph) (v : Nat) : Bool :=
  g.nodes.any (fun c => memNat v c.args) && g.nodes.all (fun c => !(memNat v c.args) || softmaxLastOf v c) &&
    !(memNat v g.outputs)

/-- `true` when node `n` (value `v`) adds the mask `m` to scores of trailing shape `L × L`, and
only softmaxes over the last axis read the sum. -/
def maskAddOk (g : Graph) (m L v : Nat) (n : Node) : Bool :=
  decide (n.op = .add) && decide (n.args.drop 1 = [m]) && decide (n.shape.drop (n.shape.length - 2) = [L, L]) &&
    onlySoftmaxed g v

/-- The structural checker: every node using value `m` is a `maskAddOk` node, and one does. -/
def checkMaskFeeds (g : Graph) (m L : Nat) : Bool :=
  g.nodes.any (fun c => memNat m c.args) &&
    allBelow g.nodes.length (fun a => match nth g.nodes a with
      | some n => !(memNat m n.args) || maskAddOk g m L (g.inputs.length + g.params.length + a) n
      | none => true)

/-- Value `v` is read by some node, by softmaxes over the last axis only, and is not an output. -/
structure OnlySoftmaxed (g : Graph) (v : Nat) : Prop where
  /-- Some node reads `v`. -/
  read : ∃ c, c ∈ g.nodes ∧ v ∈ c.args
  /-- Every node reading `v` is `softmax(v)` over axis `-1`. -/
  softmax : ∀ c, c ∈ g.nodes → v ∈ c.args →
    c.op = .softmax ∧ c.args = [v] ∧ attrInt c.attrs .axis = some (-1)
  /-- `v` is not an output of the graph. -/
  notOutput : ¬ v ∈ g.outputs

/-- The value `m` (the mask) is added to attention scores right before a softmax over keys. -/
structure MaskFeedsScores (g : Graph) (m L : Nat) : Prop where
  /-- Some node reads the mask. -/
  used : ∃ c, c ∈ g.nodes ∧ m ∈ c.args
  /-- Node `a` (value `nIn + nPar + a`) reading the mask is `add(_, m)` of trailing shape
  `L × L`, and its sum is only softmaxed over the last axis. -/
  adds : ∀ a n, nth g.nodes a = some n → m ∈ n.args →
    n.op = .add ∧ n.args.drop 1 = [m] ∧ n.shape.drop (n.shape.length - 2) = [L, L] ∧
      OnlySoftmaxed g (g.inputs.length + g.params.length + a)

/-- Parameter `k` of `g`, with values `P`, is a causal `L × L` mask feeding attention softmaxes. -/
structure CausalAttention (g : Graph) (P : List (List Q)) (k L : Nat) : Prop where
  /-- The mask's values are causal. -/
  mask : CausalMask (nthD P k []) L
  /-- The mask feeds the attention scores. -/
  feeds : MaskFeedsScores g (g.inputs.length + k) L

/-- The whole checker, evaluated by the kernel. -/
def checkCausal (g : Graph) (P : List (List Q)) (k L : Nat) : Bool :=
  checkCausalMask (nthD P k []) L && checkMaskFeeds g (g.inputs.length + k) L

/-! ### Soundness -/

/-- A mask the checker accepts is causal. -/
theorem checkCausalMask_sound (m : List Q) (L : Nat) (h : checkCausalMask m L = true) :
    CausalMask m L := by
  have c := and_true_split h
  have entry : ∀ i j, i < L → j < L → maskEntryOk m L i j = true := fun i j hi hj =>
    allBelow_sound L (allBelow_sound L c.2 i hi) j hj
  refine ⟨Nat.eq_of_beq_eq_true c.1, fun i j hji hi => ?_, fun i j hij hj => ?_⟩
  · have e := entry i j hi (Nat.lt_of_le_of_lt hji hi)
    unfold maskEntryOk at e
    rw [Nat.ble_eq_true_of_le hji] at e
    exact eq_of_decide e
  · have e := entry i j (Nat.lt_trans hij hj) hj
    unfold maskEntryOk at e
    cases hb : Nat.ble j i with
    | true => exact absurd (Nat.le_of_ble_eq_true hb) (Nat.not_le_of_gt hij)
    | false => rw [hb] at e; exact e

/-- A node `softmaxLastOf v` accepts is `softmax(v)` over axis `-1`. -/
theorem softmaxLastOf_sound (v : Nat) (c : Node) (h : softmaxLastOf v c = true) :
    c.op = .softmax ∧ c.args = [v] ∧ attrInt c.attrs .axis = some (-1) := by
  have c1 := and_true_split h
  have c2 := and_true_split c1.1
  refine ⟨eq_of_decide c2.1, eq_of_decide c2.2, ?_⟩
  have c3 := c1.2
  cases ha : attrInt c.attrs .axis with
  | none => rw [ha] at c3; exact Bool.noConfusion c3
  | some a => rw [ha] at c3; rw [eq_of_decide c3]

/-- What `onlySoftmaxed` accepts. -/
theorem onlySoftmaxed_sound (g : Graph) (v : Nat) (h : onlySoftmaxed g v = true) :
    OnlySoftmaxed g v := by
  have c1 := and_true_split h
  have c2 := and_true_split c1.1
  refine ⟨?_, fun c hc hv => ?_, fun ho => ?_⟩
  · obtain ⟨c, hc, hm⟩ := any_sound g.nodes c2.1
    exact ⟨c, hc, memNat_sound c.args hm⟩
  · cases or_true_split (all_sound g.nodes c2.2 c hc) with
    | inl e => rw [memNat_complete hv] at e; exact Bool.noConfusion e
    | inr e => exact softmaxLastOf_sound v c e
  · have e := not_true_false c1.2
    rw [memNat_complete ho] at e
    exact Bool.noConfusion e

/-- A graph the structural checker accepts routes the mask into the attention softmaxes. -/
theorem checkMaskFeeds_sound (g : Graph) (m L : Nat) (h : checkMaskFeeds g m L = true) :
    MaskFeedsScores g m L := by
  have c := and_true_split h
  refine ⟨?_, fun a n hn hm => ?_⟩
  · obtain ⟨c', hc, hu⟩ := any_sound g.nodes c.1
    exact ⟨c', hc, memNat_sound c'.args hu⟩
  · have e := allBelow_sound g.nodes.length c.2 a (nth_lt g.nodes a n hn)
    rw [hn] at e
    cases or_true_split e with
    | inl e' => rw [memNat_complete hm] at e'; exact Bool.noConfusion e'
    | inr e' =>
      have d1 := and_true_split e'
      have d2 := and_true_split d1.1
      have d3 := and_true_split d2.1
      exact ⟨eq_of_decide d3.1, eq_of_decide d3.2, eq_of_decide d2.2, onlySoftmaxed_sound g _ d1.2⟩

/-- A parameter the checker accepts is a causal mask feeding the attention softmaxes. -/
theorem checkCausal_sound (g : Graph) (P : List (List Q)) (k L : Nat) (h : checkCausal g P k L = true) :
    CausalAttention g P k L :=
  have c := and_true_split h
  ⟨checkCausalMask_sound _ L c.1, checkMaskFeeds_sound g _ L c.2⟩

end Pytorch2Lean
