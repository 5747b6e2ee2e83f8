/-
Well-formedness and shape inference, with soundness: the twin of `pytorch2lean/ir/validate.py`.

`checkWF g` is a `Bool` the kernel evaluates (`decide +kernel`); `checkWF_sound` turns a `true`
into `WellFormed g`, a proposition that says what the Python validator checks: every operand
names an earlier value, operand counts and attribute schemas fit the op, parameter-only operands
are parameters, every op's shape rule accepts its operand shapes and gives a positive shape equal
to the node's stated one, every parameter is used, and the outputs are distinct inputs or nodes.
-/
import Pytorch2Lean.Shapes

namespace Pytorch2Lean

/-- The shapes of `args`, looked up in the value table `env`; `none` if one is not defined. -/
def argShapes (env : List Shape) : List Nat → Option (List Shape)
  | [] => some []
  | a :: as =>
    match nth env a with
    | none => none
    | some s => (argShapes env as).map (s :: ·)

/-- `true` when operand `k + j` (for the `j`-th entry of `args`) is a parameter wherever the op
requires one; parameters are the values `nIn ≤ a < nIn + nPar`. -/
def paramArgsOk (nIn nPar : Nat) (op : OpTag) (k : Nat) : List Nat → Bool
  | [] => true
  | a :: as =>
    (!(op.paramOperand k) || (Nat.ble nIn a && natLt a (nIn + nPar))) &&
      paramArgsOk nIn nPar op (k + 1) as

/-- `true` when every dimension is positive. -/
def allPos (s : Shape) : Bool := s.all (fun d => Nat.ble 1 d)

/-- The checks on a node whose operand shapes gave the shape `s` by its op's rule. -/
def nodeChecks (nIn nPar : Nat) (n : Node) (s : Shape) : Bool :=
  arityOk n.op n.args.length && attrsOk n.op n.attrs && paramArgsOk nIn nPar n.op 0 n.args &&
    allPos s && decide (n.shape = s)

/-- The shape of node `n` in value table `env`, if the node passes every check. -/
def nodeShape (nIn nPar : Nat) (env : List Shape) (n : Node) : Option Shape :=
  obind (argShapes env n.args) fun ins =>
  obind (opShape n.op n.attrs ins) fun s =>
  guard (nodeChecks nIn nPar n s) (some s)

/-- The value table after the nodes: `env` followed by each node's shape, or `none`. -/
def typeNodes (nIn nPar : Nat) : List Shape → List Node → Option (List Shape)
  | env, [] => some env
  | env, n :: ns =>
    match nodeShape nIn nPar env n with
    | none => none
    | some s => typeNodes nIn nPar (env ++ [s]) ns

/-- The shapes of the whole value table (inputs, parameters, nodes), if every node checks. -/
def valueShapes (g : Graph) : Option (List Shape) :=
  typeNodes g.inputs.length g.params.length (g.inputs ++ g.params) g.nodes

/-- `true` when some node uses value `v`. -/
def used (g : Graph) (v : Nat) : Bool := g.nodes.any (fun n => memNat v n.args)

/-- `true` when value `o` may be an output: an input or a node, not a parameter. -/
def outputOk (g : Graph) (o : Nat) : Bool :=
  natLt o (g.inputs.length + g.params.length + g.nodes.length) &&
    !(Nat.ble g.inputs.length o && natLt o (g.inputs.length + g.params.length))

/-- The whole-graph checks once the nodes have been typed. -/
def graphChecks (g : Graph) : Bool :=
  g.inputs.all allPos && g.params.all allPos &&
    allBelow g.params.length (fun k => used g (g.inputs.length + k)) &&
    !(isNil g.outputs) && g.outputs.all (outputOk g) && nodupNat g.outputs

/-- The well-formedness checker, evaluated by the kernel. -/
def checkWF (g : Graph) : Bool :=
  graphChecks g && (match valueShapes g with
    | some _ => true
    | none => false)

/-- The shapes of the outputs of a well-formed graph: `checkWF`'s checks with its one typing pass
(not `checkWF` and then the pass again), so that an export's `outputShapes` and `wellFormed`
come from a single kernel evaluation. -/
def inferShapes (g : Graph) : Option (List Shape) :=
  cond (graphChecks g) ((valueShapes g).map (fun env => g.outputs.map (fun o => nthD env o []))) none

/-- What a node must satisfy in value table `env` to have shape `s`. -/
structure NodeOK (nIn nPar : Nat) (env : List Shape) (n : Node) (s : Shape) : Prop where
  /-- The operand count is allowed for the op. -/
  arity : arityOk n.op n.args.length = true
  /-- The attributes are the op's schema. -/
  attrs : attrsOk n.op n.attrs = true
  /-- Every operand is an earlier value. -/
  defined : ∀ a, a ∈ n.args → a < env.length
  /-- Parameter-only operands are parameters. -/
  params : ∀ k a, nth n.args k = some a → n.op.paramOperand k = true → nIn ≤ a ∧ a < nIn + nPar
  /-- The op's shape rule gives `s` on the operands' shapes. -/
  rule : opShape n.op n.attrs (n.args.map (fun a => nthD env a [])) = some s
  /-- The shape has no empty axis. -/
  positive : ∀ d, d ∈ s → 0 < d
  /-- The node states this shape. -/
  stated : n.shape = s

/-- `Typed nIn nPar env ns out`: running through the nodes `ns` from value table `env`, each node
is `NodeOK` and appends its shape, ending with the table `out`. -/
inductive Typed (nIn nPar : Nat) : List Shape → List Node → List Shape → Prop
  | nil (env : List Shape) : Typed nIn nPar env [] env
  | cons {env : List Shape} {n : Node} {ns : List Node} {s : Shape} {out : List Shape} :
      NodeOK nIn nPar env n s → Typed nIn nPar (env ++ [s]) ns out → Typed nIn nPar env (n :: ns) out

/-- A well-formed graph (the Python `validate` accepts it). -/
structure WellFormed (g : Graph) : Prop where
  /-- Input shapes have no empty axis. -/
  inputsPositive : ∀ s, s ∈ g.inputs → ∀ d, d ∈ s → 0 < d
  /-- Parameter shapes have no empty axis. -/
  paramsPositive : ∀ s, s ∈ g.params → ∀ d, d ∈ s → 0 < d
  /-- The nodes type check, in order, from the inputs and parameters. -/
  typed : ∃ env, Typed g.inputs.length g.params.length (g.inputs ++ g.params) g.nodes env
  /-- Every parameter is an operand of some node. -/
  paramsUsed : ∀ k, k < g.params.length → ∃ n, n ∈ g.nodes ∧ g.inputs.length + k ∈ n.args
  /-- There is an output. -/
  hasOutput : g.outputs ≠ []
  /-- Outputs are values of the graph. -/
  outputsDefined : ∀ o, o ∈ g.outputs → o < g.inputs.length + g.params.length + g.nodes.length
  /-- No output is a parameter. -/
  outputsNotParams : ∀ o, o ∈ g.outputs → ¬(g.inputs.length ≤ o ∧ o < g.inputs.length + g.params.length)
  /-- No output is listed twice. -/
  outputsDistinct : Nodup g.outputs

/-- The well-formed graph `g` has outputs of shapes `outs`. -/
def HasShapes (g : Graph) (outs : List Shape) : Prop :=
  WellFormed g ∧ ∃ env, Typed g.inputs.length g.params.length (g.inputs ++ g.params) g.nodes env ∧
    outs = g.outputs.map (fun o => nthD env o [])

/-! ### Soundness -/

/-- Operand shapes found by `argShapes` belong to earlier values. -/
theorem argShapes_sound (env : List Shape) : (args : List Nat) → (ins : List Shape) →
    argShapes env args = some ins →
    (∀ a, a ∈ args → a < env.length) ∧ ins = args.map (fun a => nthD env a [])
  | [], ins, h => by
    have e : ins = [] := by injection h with h; exact h.symm
    exact ⟨fun _ ha => (nomatch ha), e⟩
  | a :: as, ins, h => by
    unfold argShapes at h
    cases hn : nth env a with
    | none => rw [hn] at h; exact Option.noConfusion rfl (heq_of_eq h)
    | some s =>
      rw [hn] at h
      cases hr : argShapes env as with
      | none => rw [hr] at h; exact Option.noConfusion rfl (heq_of_eq h)
      | some rest =>
        rw [hr] at h
        have e : ins = s :: rest := by injection h with h; exact h.symm
        obtain ⟨hd, he⟩ := argShapes_sound env as rest hr
        refine ⟨fun x hx => ?_, ?_⟩
        · cases hx with
          | head => exact nth_lt env a s hn
          | tail _ hx' => exact hd x hx'
        · rw [e, he]
          show s :: _ = (nth env a).getD [] :: _
          rw [hn]
          rfl

/-- `paramArgsOk` accepts only parameters in parameter-only operand positions. -/
theorem paramArgsOk_sound (nIn nPar : Nat) (op : OpTag) : (k : Nat) → (args : List Nat) →
    paramArgsOk nIn nPar op k args = true →
    ∀ j a, nth args j = some a → op.paramOperand (k + j) = true → nIn ≤ a ∧ a < nIn + nPar
  | _, [], _, _, _, h, _ => Option.noConfusion rfl (heq_of_eq h)
  | k, b :: bs, h, j, a, hj, hp => by
    have h2 := and_true_split h
    cases j with
    | zero =>
      have e : b = a := by injection hj
      rw [← e]
      cases or_true_split h2.1 with
      | inl h3 => rw [nat_add_zero] at hp; rw [hp] at h3; exact Bool.noConfusion h3
      | inr h3 =>
        have h4 := and_true_split h3
        exact ⟨nat_le_of_ble_eq_true h4.1, nat_le_of_ble_eq_true h4.2⟩
    | succ j =>
      have hp' : op.paramOperand (k + 1 + j) = true := by
        rw [nat_add_assoc, nat_add_comm 1 j]; exact hp
      exact paramArgsOk_sound nIn nPar op (k + 1) bs h2.2 j a hj hp'

/-- `allPos` accepts only shapes without empty axes. -/
theorem allPos_sound {s : Shape} (h : allPos s = true) : ∀ d, d ∈ s → 0 < d :=
  fun d hd => nat_le_of_ble_eq_true (all_sound s h d hd)

/-- A successful `obind` has a successful first step. -/
theorem obind_some {α β : Type} {o : Option α} {f : α → Option β} {b : β}
    (h : obind o f = some b) : ∃ a, o = some a ∧ f a = some b := by
  cases o with
  | none => exact Option.noConfusion rfl (heq_of_eq h)
  | some a => exact ⟨a, rfl, h⟩

/-- A successful `guard` had a true condition. -/
theorem guard_some {α : Type} {c : Bool} {k : Option α} {b : α}
    (h : guard c k = some b) : c = true ∧ k = some b := by
  cases c with
  | false => exact Option.noConfusion rfl (heq_of_eq h)
  | true => exact ⟨rfl, h⟩

/-- A node the checker types is `NodeOK`. -/
theorem nodeShape_sound (nIn nPar : Nat) (env : List Shape) (n : Node) (s : Shape)
    (h : nodeShape nIn nPar env n = some s) : NodeOK nIn nPar env n s := by
  obtain ⟨ins, ha, h1⟩ := obind_some h
  obtain ⟨s', hs, h2⟩ := obind_some h1
  obtain ⟨hc, h3⟩ := guard_some h2
  have e : s' = s := by injection h3
  subst e
  obtain ⟨hd, he⟩ := argShapes_sound env n.args ins ha
  have c1 := and_true_split hc
  have c2 := and_true_split c1.1
  have c3 := and_true_split c2.1
  have c4 := and_true_split c3.1
  exact {
    arity := c4.1
    attrs := c4.2
    defined := hd
    params := fun k a hk hp => paramArgsOk_sound nIn nPar n.op 0 n.args c3.2 k a hk
      (by rw [nat_zero_add]; exact hp)
    rule := by rw [← he]; exact hs
    positive := allPos_sound c2.2
    stated := eq_of_decide c1.2 }

/-- Nodes the checker types are `Typed`. -/
theorem typeNodes_sound (nIn nPar : Nat) : (env : List Shape) → (ns : List Node) →
    (out : List Shape) → typeNodes nIn nPar env ns = some out → Typed nIn nPar env ns out
  | env, [], out, h => by
    have e : env = out := by injection h
    rw [e]; exact Typed.nil out
  | env, n :: ns, out, h => by
    unfold typeNodes at h
    cases hn : nodeShape nIn nPar env n with
    | none => rw [hn] at h; exact Option.noConfusion rfl (heq_of_eq h)
    | some s =>
      rw [hn] at h
      exact Typed.cons (nodeShape_sound nIn nPar env n s hn) (typeNodes_sound nIn nPar _ ns out h)

/-- What the whole-graph checks guarantee. -/
theorem graphChecks_sound (g : Graph) (h : graphChecks g = true) :
    (∀ s, s ∈ g.inputs → ∀ d, d ∈ s → 0 < d) ∧ (∀ s, s ∈ g.params → ∀ d, d ∈ s → 0 < d) ∧
    (∀ k, k < g.params.length → ∃ n, n ∈ g.nodes ∧ g.inputs.length + k ∈ n.args) ∧
    g.outputs ≠ [] ∧
    (∀ o, o ∈ g.outputs → o < g.inputs.length + g.params.length + g.nodes.length ∧
      ¬(g.inputs.length ≤ o ∧ o < g.inputs.length + g.params.length)) ∧
    Nodup g.outputs := by
  have c1 := and_true_split h
  have c2 := and_true_split c1.1
  have c3 := and_true_split c2.1
  have c4 := and_true_split c3.1
  have c5 := and_true_split c4.1
  refine ⟨fun s hs => allPos_sound (all_sound _ c5.1 s hs),
    fun s hs => allPos_sound (all_sound _ c5.2 s hs), ?_, ?_, ?_, nodupNat_sound _ c1.2⟩
  · intro k hk
    obtain ⟨n, hn, hu⟩ := any_sound g.nodes (allBelow_sound _ c4.2 k hk)
    exact ⟨n, hn, memNat_sound n.args hu⟩
  · intro e
    rw [e] at c3
    exact Bool.noConfusion c3.2
  · intro o ho
    have c6 := and_true_split (all_sound _ c2.2 o ho)
    refine ⟨nat_le_of_ble_eq_true c6.1, fun ⟨h1, h2⟩ => ?_⟩
    have c7 := not_true_false c6.2
    rw [nat_ble_eq_true_of_le h1] at c7
    rw [show natLt o (g.inputs.length + g.params.length) = true from nat_ble_eq_true_of_le h2] at c7
    exact Bool.noConfusion c7

/-- A graph the checker accepts is well-formed. -/
theorem checkWF_sound (g : Graph) (h : checkWF g = true) : WellFormed g := by
  have c := and_true_split h
  obtain ⟨ip, pp, pu, ho, od, nd⟩ := graphChecks_sound g c.1
  cases hv : valueShapes g with
  | none =>
    have c2 := c.2
    unfold checkWF at c2
    rw [hv] at c2
    exact Bool.noConfusion c2
  | some env =>
    exact {
      inputsPositive := ip
      paramsPositive := pp
      typed := ⟨env, typeNodes_sound _ _ _ _ env hv⟩
      paramsUsed := pu
      hasOutput := ho
      outputsDefined := fun o h => (od o h).1
      outputsNotParams := fun o h => (od o h).2
      outputsDistinct := nd }

/-- Inferred shapes are the output shapes of a well-formed graph. -/
theorem inferShapes_sound (g : Graph) (outs : List Shape) (h : inferShapes g = some outs) :
    HasShapes g outs := by
  unfold inferShapes at h
  cases hc : graphChecks g with
  | false => rw [hc] at h; exact Option.noConfusion rfl (heq_of_eq h)
  | true =>
    rw [hc] at h
    cases hv : valueShapes g with
    | none => rw [hv] at h; exact Option.noConfusion rfl (heq_of_eq h)
    | some env =>
      rw [hv] at h
      have e : g.outputs.map (fun o => nthD env o []) = outs := by injection h
      have wf : checkWF g = true := by unfold checkWF; rw [hc, hv] <;> rfl
      exact ⟨checkWF_sound g wf, env, typeNodes_sound _ _ _ _ env hv, e.symm⟩

end Pytorch2Lean
