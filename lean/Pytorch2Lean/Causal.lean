/-
Causal sequence models: a position-dependency analysis of the graph and its checker, the twin of
`pytorch2lean/lean/causal.py`.

`depValues g P inp ax` runs the graph on *dependency masks* instead of numbers: every element of
every value gets a natural number whose bit `j` says "this element may depend on position `j`"
of axis `ax` of input `inp`. Element `e` of that input has the single bit of its index along the
axis, every other input and every parameter has `0`. Each element also carries one bit `nz`,
cleared only where the element is known to be exactly zero (see `maskQ`). Each op combines its
operands' masks by a rule mirroring its denotation (`Denote.lean`):

* elementwise and broadcasting ops OR the masks of the elements they read (`binaryEval` itself,
  on masks); `reshape`/`flatten` keep flat order; `transpose`, `slice`, `concat`, `pad` move
  masks with the denotation's own index maps (`transposeIndex`, `sliceIndex`, `concatEval`,
  `padEval`), so masks move exactly as values do (a constant pad cell depends on nothing);
* `linear` and `layernorm` OR over the whole row or block they read (their other operands are
  parameters in a well-formed graph: no dependency), `softmax` over its fiber; `matmul` gives
  `out(i, j)` the OR of `a(i, l) ||| b(l, j)` over the `l` where `a(i, l)` is not known to be
  exactly zero (`matmulWith`, the structure `matmulEval` uses);
* `maskedSoftmax`: a masked output entry is exactly zero, so it depends on nothing (and is known
  to be zero); a kept one ORs the kept entries of its row. Which entries are kept comes from the
  mask's *values* in `P` (the same `keptOf`/`maskedRows` the denotation uses);
* `embedding`: each looked-up row depends on its id alone (the table is a parameter in a
  well-formed graph), so the row's entries carry the id's mask;
* every other op (convolutions, pooling, batchnorm, ...) makes each output element depend on all
  positions: the sound default.

`checkCausalDeps g P inp ax outAx` checks that every element of every graph output at position
`i` along axis `outAx` has a mask within bits `0 .. i`, i.e. `mask < 2 ^ (i + 1)`;
`checkCausalDeps_sound` turns `true` into `CausalDeps`, a statement about the analysis.

What is NOT proved in Lean: that the analysis over-approximates `denote`, i.e. that changing the
inputs at positions outside an element's mask leaves that element of `denote E g P x` unchanged
(for a well-formed `g`). That link (a per-op lemma for each rule above, through
`evalNode`/`runNodes`) is tested instead: the Python twin agrees with this checker on generated
and mutated graphs, the runtime's float32 outputs at positions `≤ i` are bit-identical when inputs
at positions `> i` change, and the twin's masks contain every dependency that a brute-force
perturbation probe finds (`tests/test_causal_mask.py`).
-/
import Pytorch2Lean.Denote

namespace Pytorch2Lean

/-! ### Masks and their combinations -/

/-- The carried value `n`, as the rational `n` so that code moving values moves masks too. A
carried value is `2 * mask + nz`: the dependency mask shifted up one bit, and `nz`, which is `0`
only for an element known to be exactly zero (a masked entry of a masked softmax, or a copy of
one). `nz` is what lets `matmul` drop a term with an exactly zero factor, as `weights @ v` must
for the keys that a causal mask hides. -/
def maskQ (n : Nat) : Q := ⟨false, n, nat_lit 1⟩

/-- `acc` OR every carried value of `l`; each step is evaluated before the next (`natFresh`), so a
long row builds no deep term in the kernel. -/
def orAcc : List Q → Nat → Nat
  | [], acc => acc
  | q :: qs, acc => natFresh (Nat.lor acc q.num) (orAcc qs)

/-- The OR of the carried values of a list: the OR of the masks, shifted, and of the `nz` bits. -/
def orAll (l : List Q) : Nat := orAcc l 0

/-- A carried value with mask `m >>> 1` that may be nonzero. -/
def nzQ (m : Nat) : Q := maskQ (Nat.lor m 1)

/-- Both operands combined by an op that may make anything of them: masks ORed, maybe nonzero. -/
def qor (a b : Q) : Q := nzQ (Nat.lor a.num b.num)

/-- Every element of shape `o` carries `all` (every position, maybe nonzero). -/
def allOf (o : Shape) (all : Nat) : List Q := List.replicate (prod o) (maskQ all)

/-- `rows` rows of `n` carried values, each replaced by `n'` copies of its OR. -/
def rowDeps (n rows n' : Nat) (data : List Q) : List Q :=
  concatMap (fun r => natFresh (orAll r) (fun m => List.replicate n' (nzQ m))) (chunks n rows data)

/-- `acc` with the carried values of `l` put at bits `s`, `s + w`, ... (each below `2 ^ w`): a row
packed into one number, so that ORing two rows lane by lane is one `Nat.lor`. Each step is
evaluated before the next. -/
def packAcc (w : Nat) : List Q → Nat → Nat → Nat
  | [], _, acc => acc
  | q :: qs, s, acc =>
    natFresh (Nat.lor acc (Nat.shiftLeft q.num s)) fun acc' => natFresh (Nat.add s w) fun s' => packAcc w qs s' acc'

/-- The `n` lanes of width `w` of a packed row, as carried values. -/
def unpackRow (w n p : Nat) : List Q :=
  (List.range n).map (fun j => maskQ (Nat.land (Nat.shiftRight p (Nat.mul w j)) (Nat.sub (Nat.shiftLeft 1 w) 1)))

/-- The carried values of `l` (each at most `all = 2 ^ w - 1`) at the flat indices `idx`, read from
`l` packed into one number: `transpose` and `slice` move masks as their denotation moves values
(`transposeIndex`, `sliceIndex`), with one shift per element instead of a tree walk. -/
def gatherPacked (all : Nat) (l : List Q) (idx : List Nat) : List Q :=
  let w := Nat.log2 (Nat.add all 1)
  natFresh (packAcc w l 0 0) fun p =>
    idx.map (fun i => maskQ (Nat.land (Nat.shiftRight p (Nat.mul w i)) all))

/-- Row `i` of a `matmul` block, packed: `acc` ORed, for every `l` where `a(i, l)` is not known to
be exactly zero (a zero factor makes the term zero whatever `b(l, ·)` is), with the packed row
`b(l, ·)` and with `a(i, l)` in every lane (`a(i, l) * ones`, `ones` having a 1 in each lane). -/
def rowTimes (ones : Nat) : List Q → List Nat → Nat → Nat
  | a :: as, br :: brs, acc =>
    natFresh (cond (Nat.beq (Nat.land a.num 1) 1) (Nat.lor acc (Nat.lor br (Nat.mul a.num ones))) acc)
      (rowTimes ones as brs)
  | _, _, acc => acc

/-- A `matmul` block of `a` (`m × k`) and `b` (`k × n`), lanes of width `w`: entry `(i, j)` ORs
`a(i, l) ||| b(l, j)` over the `l` where `a(i, l)` is not known to be exactly zero. -/
def matmulDeps (w : Nat) (a b : List Q) (k n m : Nat) : List Q :=
  let rows := (chunks n k b).map (fun r => packAcc w r 0 0)
  let ones := packAcc w (List.replicate n (maskQ 1)) 0 0
  concatMap (fun r => natFresh (Nat.lor (rowTimes ones r rows 0) ones) (unpackRow w n)) (chunks k m a)

/-- A `maskedSoftmax` row: masked entries are exactly zero and depend on nothing, kept ones
depend on the kept entries. -/
def maskedRowDeps (v keep : List Q) : List Q :=
  natFresh (orAll (keptOf keep v)) (fun m => keep.map (fun k => cond (Q.isZero k) Q.zero (nzQ m)))

/-- A `pad` whose constant cells carry `1` (no dependency, maybe nonzero): the float32 `1.0`. -/
def constantCells (attrs : Attrs) : Attrs :=
  attrs.map (fun p => cond (decide (p.1 = .value)) (.value, .float 0x3f800000) p)

/-- The carried values of the output of `op` (shape `o`) from its operands'; `keep` holds the
values of a `maskedSoftmax` mask operand when it is a parameter; `all` is every position. -/
def depOp (all : Nat) (keep : Option Tensor) (op : OpTag) (attrs : Attrs) (args : List Tensor)
    (o : Shape) : List Q :=
  match op, args with
  | .add, [a, b] | .sub, [a, b] | .mul, [a, b] | .div, [a, b] => binaryEval qor a b o
  | .neg, [x] | .relu, [x] | .leakyRelu, [x] | .sigmoid, [x] | .tanh, [x] | .gelu, [x] =>
    x.data.map (fun q => nzQ q.num)
  | .flatten, [x] | .reshape, [x] => x.data
  | .transpose, [x] => ((transposeIndex attrs x.shape o).map (gatherPacked all x.data)).getD (allOf o all)
  | .slice, [x] => ((sliceIndex attrs x.shape).map (gatherPacked all x.data)).getD (allOf o all)
  | .concat, _ => (evalExact op attrs args o).getD (allOf o all)
  | .pad, [x] => (padEval (constantCells attrs) x).getD (allOf o all)
  | .linear, x :: _ => rowDeps (lastD x.shape) (prod x.shape / lastD x.shape) (lastD o) x.data
  | .layernorm, x :: _ =>
    (obind (attrInt attrs .axis) fun axis => (normAxis axis x.shape.length).map fun k =>
      rowDeps (prod (x.shape.drop k)) (prod (x.shape.take k)) (prod (x.shape.drop k)) x.data).getD (allOf o all)
  | .softmax, [x] =>
    (obind (attrInt attrs .axis) fun axis => (normAxis axis x.shape.length).map fun k =>
      alongAxis x.shape k x.data (fun v => List.replicate v.length (nzQ (orAll v)))).getD (allOf o all)
  | .matmul, [a, b] => matmulWith (matmulDeps (Nat.log2 (Nat.add all 1))) a b
  | .embedding, [ids, w] => concatMap (fun q => List.replicate (prod (w.shape.drop 1)) (nzQ q.num)) ids.data
  | .maskedSoftmax, [x, _] =>
    match keep with
    | some m => maskedRows maskedRowDeps x m
    | none => allOf o all
  | _, _ => allOf o all

/-- The mask operand of node `n` with its values from `P`, when it is a parameter. -/
def maskOperand (g : Graph) (P : List (List Q)) (n : Node) : Option Tensor :=
  match n.args with
  | [_, a] =>
    cond (Nat.ble g.inputs.length a && natLt a (g.inputs.length + g.params.length))
      (some ⟨nthD g.params (a - g.inputs.length) [], nthD P (a - g.inputs.length) []⟩) none
  | _ => none

/-- The masks of node `n` (the node's shape by its op's rule) given the masks `env` of earlier values. -/
def depNode (g : Graph) (P : List (List Q)) (all : Nat) (env : List Tensor) (n : Node) : Option Tensor :=
  obind (allSome (n.args.map (nth env))) fun args =>
  (opShape n.op n.attrs (args.map Tensor.shape)).map fun o =>
    ⟨o, depOp all (maskOperand g P n) n.op n.attrs args o⟩

/-- The table of carried values after running the nodes in order (`w` bits each). -/
def runDeps (g : Graph) (P : List (List Q)) (w : Nat) : List Tensor → List Node → Option (List Tensor)
  | env, [] => some env
  | env, n :: ns =>
    match depNode g P (Nat.sub (Nat.shiftLeft 1 w) 1) env n with
    | some t => runDeps g P w (env ++ [t]) ns
    | none => none

/-- The index along axis `a` of element `e` (row-major) of a tensor of shape `s`. -/
def posAlong (s : Shape) (a e : Nat) : Nat := (e / prod (s.drop (a + 1))) % nthD s a 1

/-- The carried values the values start with: element `e` of input `inp` has the mask bit
`posAlong s ax e`; other inputs and all parameters depend on nothing; all may be nonzero. -/
def depStart (g : Graph) (inp ax : Nat) : List Tensor :=
  (List.range g.inputs.length).map (fun i =>
    let s := nthD g.inputs i []
    ⟨s, cond (Nat.beq i inp) ((List.range (prod s)).map (fun e => nzQ (Nat.shiftLeft 2 (posAlong s ax e))))
      (List.replicate (prod s) (nzQ 0))⟩) ++
  g.params.map (fun s => ⟨s, List.replicate (prod s) (nzQ 0)⟩)

/-- The carried values of every value (inputs, parameters, nodes) for positions along axis `ax`
of input `inp`. -/
def depValues (g : Graph) (P : List (List Q)) (inp ax : Nat) : Option (List Tensor) :=
  runDeps g P (nthD (nthD g.inputs inp []) ax 0 + 1) (depStart g inp ax) g.nodes

/-- The shape and dependency masks of each graph output. -/
def depOutputs (g : Graph) (P : List (List Q)) (inp ax : Nat) : Option (List (Shape × List Nat)) :=
  obind (depValues g P inp ax) fun env =>
    allSome (g.outputs.map (fun o => (nth env o).map (fun t => (t.shape, t.data.map (fun q => Nat.shiftRight q.num 1)))))

/-! ### The contract and its checker -/

/-- By the dependency analysis, every element of every output of `g` (parameter values `P`) at
position `i` of axis `outAx` depends only on positions `≤ i` of axis `ax` of input `inp`: its
mask is below `2 ^ (i + 1)`. The input and both axes exist. -/
def CausalDeps (g : Graph) (P : List (List Q)) (inp ax outAx : Nat) : Prop :=
  inp < g.inputs.length ∧ ax < (nthD g.inputs inp []).length ∧
    ∃ outs, depOutputs g P inp ax = some outs ∧ ∀ t, t ∈ outs → outAx < t.1.length ∧
      ∀ e m, nth t.2 e = some m → m < 2 ^ (posAlong t.1 outAx e + 1)

/-- `true` when mask `e0 + j` of `ms` is below `2 ^ (i + 1)` for its position `i` along `a`. -/
def prefixOk (s : Shape) (a : Nat) : Nat → List Nat → Bool
  | _, [] => true
  | e, m :: ms => natLt m (Nat.pow 2 (posAlong s a e + 1)) && prefixOk s a (e + 1) ms

/-- The checker of `CausalDeps`, evaluated by the kernel. -/
def checkCausalDeps (g : Graph) (P : List (List Q)) (inp ax outAx : Nat) : Bool :=
  natLt inp g.inputs.length && natLt ax (nthD g.inputs inp []).length &&
    (match depOutputs g P inp ax with
     | some outs => outs.all (fun t => natLt outAx t.1.length && prefixOk t.1 outAx 0 t.2)
     | none => false)

/-- What `prefixOk` accepts. -/
theorem prefixOk_sound (s : Shape) (a : Nat) : (e0 : Nat) → (ms : List Nat) → prefixOk s a e0 ms = true →
    ∀ e m, nth ms e = some m → m < 2 ^ (posAlong s a (e0 + e) + 1)
  | _, [], _, _, _, hm => Option.noConfusion rfl (heq_of_eq hm)
  | e0, m :: ms, h, 0, m', hm => by
    have c := and_true_split h
    injection hm with e
    rw [← e]
    exact nat_le_of_ble_eq_true c.1
  | e0, m :: ms, h, e + 1, m', hm => by
    have r := prefixOk_sound s a (e0 + 1) ms (and_true_split h).2 e m' hm
    rw [nat_add_right_comm] at r
    exact r

/-- A graph the checker accepts satisfies `CausalDeps`. -/
theorem checkCausalDeps_sound (g : Graph) (P : List (List Q)) (inp ax outAx : Nat)
    (h : checkCausalDeps g P inp ax outAx = true) : CausalDeps g P inp ax outAx := by
  have c1 := and_true_split h
  have c2 := and_true_split c1.1
  refine ⟨nat_le_of_ble_eq_true c2.1, nat_le_of_ble_eq_true c2.2, ?_⟩
  have c3 := c1.2
  cases hd : depOutputs g P inp ax with
  | none =>
    unfold checkCausalDeps at h
    rw [hd] at c3
    exact Bool.noConfusion c3
  | some outs =>
    rw [hd] at c3
    refine ⟨outs, rfl, fun t ht => ?_⟩
    have c4 := and_true_split (all_sound outs c3 t ht)
    refine ⟨nat_le_of_ble_eq_true c4.1, fun e m hm => ?_⟩
    have r := prefixOk_sound t.1 outAx 0 t.2 c4.2 e m hm
    rw [nat_zero_add] at r
    exact r

/-! ### Reading only the parameters the analysis needs -/

/-- The parameters decoded without checking them: as `decodeAll` gives them once `checkParams`
holds (`decodeAll_raw`), but lazily, so that the kernel decodes only the masks the analysis reads
instead of every weight. -/
def rawParams (packed : List (Nat × Nat)) : List (List Q) := packed.map (fun p => (words p.1 p.2).map f32Q)

/-- Decoded parameters are the raw ones. -/
theorem decodeAll_raw : (packed : List (Nat × Nat)) → (ps : List (List Q)) →
    decodeAll packed = some ps → ps = rawParams packed
  | [], ps, h => by
    have e : some ([] : List (List Q)) = some ps := h
    injection e with e
    rw [← e]
    rfl
  | (p, n) :: rest, ps, h => by
    unfold decodeAll at h
    cases ht : tensorOk p n with
    | false =>
      have e : decodeTensor p n = none := by unfold decodeTensor; rw [ht]; rfl
      have h' : allSome (decodeTensor p n :: rest.map (fun q => decodeTensor q.1 q.2)) = some ps := h
      rw [e] at h'
      have h2 : (none : Option (List (List Q))) = some ps := h'
      exact Option.noConfusion rfl (heq_of_eq h2)
    | true =>
      have e : decodeTensor p n = some ((words p n).map f32Q) := by unfold decodeTensor; rw [ht]; rfl
      have h' : allSome (decodeTensor p n :: rest.map (fun q => decodeTensor q.1 q.2)) = some ps := h
      rw [e] at h'
      cases hr : allSome (rest.map (fun q => decodeTensor q.1 q.2)) with
      | none => simp only [allSome, hr] at h'; exact Option.noConfusion rfl (heq_of_eq h')
      | some qs =>
        simp only [allSome, hr] at h'
        injection h' with h'
        rw [← h', decodeAll_raw rest qs hr]
        rfl

/-- `CausalDeps` of the exported parameters `(decodeAll packed).getD []`, from `checkParams` and
the checker run on the lazily decoded `rawParams packed`. -/
theorem causalDeps_of_packed (g : Graph) (packed : List (Nat × Nat)) (inp ax outAx : Nat)
    (hp : checkParams g packed = true) (h : checkCausalDeps g (rawParams packed) inp ax outAx = true) :
    CausalDeps g ((decodeAll packed).getD []) inp ax outAx := by
  obtain ⟨ps, hps⟩ := checkParams_decodes g packed hp
  rw [hps]
  show CausalDeps g ps inp ax outAx
  rw [decodeAll_raw packed ps hps]
  exact checkCausalDeps_sound g _ inp ax outAx h

end Pytorch2Lean
