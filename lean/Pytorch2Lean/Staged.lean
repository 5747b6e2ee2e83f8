/-
The CROWN checker in stages: one kernel evaluation per node, one for the claim.

The Lean kernel keeps every term it evaluates until the declaration it checks ends, so one
evaluation of `checkCROWN` on a certificate with many back-substituted elements holds all of them
at once (an ACAS Xu input-split leaf of 165 elements ran past 15 GB). But `checkNodesC` enters
each checked node in its table with the node's *stated* bounds (`stepNodeC` returns
`⟨o, st.1, st.2, false⟩`), so node `j`'s check reads only the stated data of the nodes before it,
never the result of checking them. The stages below compute those tables from the stated data
alone (`statedTables`), check each node on them (`nodeOkAt`: one declaration per node, or per run of
cheap nodes, `nodesOkFrom`) and the claim on the whole stated table (`outputOkC`), and
`checkCROWN_staged` joins them: all stages true give `checkCROWN ... = true`, so
`checkCROWN_sound` applies unchanged. The join is a proof term about the stages' statements; the
kernel evaluates no check when it checks the join.

Every stage takes the model's prepared weights (`Prep`, `checkCROWN`'s first argument): an export
proves them once in `Decoded.lean` (`weightPreps`), so no stage transposes and packs the weights
of the layers below its node again.

A node's stage also requires the shape its op's rule gives to be the node's stated shape (the
stated table records the latter; `checkCROWN` records the former): the two agree on every graph
`checkWF` accepts, which every export proves (`wellFormed`).
-/
import Pytorch2Lean.CheckCROWN

namespace Pytorch2Lean

/-- The table entry of a node that checks: its stated bounds, with the node's stated shape. -/
def statedEntry (n : Node) (nc : NodeCert) : Bounds := ⟨n.shape, nc.bounds.1, nc.bounds.2, false⟩

/-- The tables `checkNodesC` builds, from the stated data alone (nothing is checked): the table,
nodes by table index and lines by table index after the nodes `ns`. -/
def statedTables : List Bounds → List (Option Node) → List (Option Relax) → List Node → List NodeCert →
    List Bounds × List (Option Node) × List (Option Relax)
  | tbl, defs, rels, n :: ns, nc :: ncs =>
    statedTables (tbl ++ [statedEntry n nc]) (defs ++ [some n]) (rels ++ [nc.relax]) ns ncs
  | tbl, defs, rels, _, _ => (tbl, defs, rels)

/-- Node `n` checks on the tables (`stepNodeC`, as `checkNodesC` calls it) and enters them as its
stated entry. -/
def nodeOkC (preps : List Prep) (tbl : List Bounds) (defs : List (Option Node)) (rels : List (Option Relax))
    (n : Node) (nc : NodeCert) : Bool :=
  match stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
  | some b => decide (b.shape = n.shape)
  | none => false

/-- Node `i` of `ns` checks on the stated tables of the nodes before it. -/
def nodeAtC (preps : List Prep) :
    List Bounds → List (Option Node) → List (Option Relax) → List Node → List NodeCert → Nat → Bool
  | tbl, defs, rels, n :: _, nc :: _, 0 => nodeOkC preps tbl defs rels n nc
  | tbl, defs, rels, n :: ns, nc :: ncs, i + 1 =>
    nodeAtC preps (tbl ++ [statedEntry n nc]) (defs ++ [some n]) (rels ++ [nc.relax]) ns ncs i
  | _, _, _, _, _, _ => false

/-- Node `j` of the graph checks on the stated tables of the nodes before it (one stage). -/
def nodeOkAt (preps : List Prep) (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (j : Nat) : Bool :=
  nodeAtC preps (initBounds g params box) (List.replicate (initBounds g params box).length none)
    (List.replicate (initBounds g params box).length none) g.nodes certs j

/-- Nodes `i`, ..., `i + m - 1` check (a stage of several cheap nodes, or one node). -/
def nodesOkFrom (preps : List Prep) (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (i : Nat) : Nat → Bool
  | 0 => true
  | m + 1 => nodeOkAt preps g params box certs i && nodesOkFrom preps g params box certs (i + 1) m

/-- The last stage: what `checkCROWN` checks besides the nodes (the box and parameters fit, one
certificate entry per node), and the claim on the stated tables of all nodes. -/
def outputOkC (preps : List Prep) (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out : Nat) (p : OutProp) (lines : ClaimLines) : Bool :=
  boxParamsOk g params box && Nat.beq certs.length g.nodes.length &&
    isSomeTrue (claimC preps g (statedTables (initBounds g params box)
      (List.replicate (initBounds g params box).length none)
      (List.replicate (initBounds g params box).length none) g.nodes certs) out p lines)

/-! ### The join -/

/-- A node that checks enters the table as its stated entry. -/
theorem nodeOkC_step {preps : List Prep} {tbl : List Bounds} {defs : List (Option Node)} {rels : List (Option Relax)}
    {n : Node} {nc : NodeCert} (h : nodeOkC preps tbl defs rels n nc = true) :
    stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds = some (statedEntry n nc) := by
  unfold nodeOkC at h
  cases hs : stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
  | none =>
    rw [hs] at h
    exact (false_ne_true' h).elim
  | some b =>
    rw [hs] at h
    have eshape : b.shape = n.shape := eq_of_decide h
    obtain ⟨args, _, h1⟩ := obind_some hs
    obtain ⟨o, _, h2⟩ := obind_some h1
    obtain ⟨_, _, h3⟩ := obind_some h2
    obtain ⟨_, h4⟩ := guard_some h3
    have eb : (⟨o, nc.bounds.1, nc.bounds.2, false⟩ : Bounds) = b := some_inj h4
    subst eb
    have eo : o = n.shape := eshape
    subst eo
    rfl

/-- Nodes that each check on the stated tables before them check in one walk, and leave the
stated tables. -/
theorem checkNodesC_staged {preps : List Prep} : (ns : List Node) → {tbl : List Bounds} → {defs : List (Option Node)} →
    {rels : List (Option Relax)} → {certs : List NodeCert} → certs.length = ns.length →
    (∀ i, i < ns.length → nodeAtC preps tbl defs rels ns certs i = true) →
    checkNodesC preps tbl defs rels ns certs = some (statedTables tbl defs rels ns certs)
  | [], _, _, _, [], _, _ => rfl
  | [], _, _, _, _ :: _, hl, _ => (nat_not_succ_le_zero _ (nat_le_of_eq hl)).elim
  | _ :: _, _, _, _, [], hl, _ => (nat_not_succ_le_zero _ (nat_le_of_eq hl.symm)).elim
  | n :: ns, tbl, defs, rels, nc :: ncs, hl, h => by
    have h0 : nodeOkC preps tbl defs rels n nc = true := h 0 (nat_succ_pos _)
    show (match stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
        | some b => checkNodesC preps (tbl ++ [b]) (defs ++ [some n]) (rels ++ [nc.relax]) ns ncs
        | none => none) = _
    rw [nodeOkC_step h0]
    exact checkNodesC_staged ns (congrArg Nat.pred hl) (fun i hi => h (i + 1) (nat_succ_le_succ hi))

/-- The nodes of a stage check. -/
theorem nodesOkFrom_get {preps : List Prep} {g : Graph} {params : List (List Q)} {box : Box} {certs : List NodeCert} :
    (m i : Nat) → nodesOkFrom preps g params box certs i m = true → ∀ k, k < m →
    nodeOkAt preps g params box certs (i + k) = true
  | 0, _, _, _, hk => (nat_not_succ_le_zero _ hk).elim
  | m + 1, i, h, 0, _ => (and_true_split h).1
  | m + 1, i, h, k + 1, hk => by
    have r := nodesOkFrom_get m (i + 1) (and_true_split h).2 k (nat_le_of_succ_le_succ hk)
    rw [nat_succ_add] at r
    exact r

/-- Two consecutive stages are one. -/
theorem nodesOkFrom_append {preps : List Prep} {g : Graph} {params : List (List Q)} {box : Box} {certs : List NodeCert} :
    (i m n : Nat) → nodesOkFrom preps g params box certs i m = true →
    nodesOkFrom preps g params box certs (i + m) n = true → nodesOkFrom preps g params box certs i (m + n) = true
  | i, 0, n, _, h2 => by
    rw [nat_zero_add]
    exact h2
  | i, m + 1, n, h1, h2 => by
    rw [nat_succ_add]
    have s := and_true_split h1
    have h2' : nodesOkFrom preps g params box certs ((i + 1) + m) n = true := by
      rw [nat_succ_add]
      exact h2
    show (nodeOkAt preps g params box certs i && nodesOkFrom preps g params box certs (i + 1) (m + n)) = true
    rw [s.1, nodesOkFrom_append (i + 1) m n s.2 h2']
    rfl

/-- Every node's stage and the last stage give the checker's evaluation: the nodes check in one
walk, leaving the stated tables, on which the claim holds. -/
theorem checkCROWN_of_stages {preps : List Prep} {g : Graph} {params : List (List Q)} {box : Box} {certs : List NodeCert}
    {out : Nat} {p : OutProp} {lines : ClaimLines}
    (nodes : nodesOkFrom preps g params box certs 0 certs.length = true)
    (output : outputOkC preps g params box certs out p lines = true) :
    checkCROWN preps g params box certs out p lines = true := by
  have o1 := and_true_split output
  have o2 := and_true_split o1.1
  have hl : certs.length = g.nodes.length := nat_eq_of_beq_eq_true o2.2
  have hn : ∀ i, i < g.nodes.length → nodeOkAt preps g params box certs i = true := by
    intro i hi
    have r := nodesOkFrom_get certs.length 0 nodes i (hl ▸ hi)
    rw [nat_zero_add] at r
    exact r
  have run := checkNodesC_staged g.nodes (tbl := initBounds g params box)
    (defs := List.replicate (initBounds g params box).length none)
    (rels := List.replicate (initBounds g params box).length none) hl hn
  show (boxParamsOk g params box && isSomeTrue (obind (checkNodesC preps (initBounds g params box)
      (List.replicate (initBounds g params box).length none)
      (List.replicate (initBounds g params box).length none) g.nodes certs) fun r => claimC preps g r out p lines)) = true
  rw [run, o2.1]
  exact o1.2

/-! ### The parameters written out -/

/-- `true` when two lists of lists of rationals are written alike. -/
def qssBeq : List (List Q) → List (List Q) → Bool
  | [], [] => true
  | r :: rs, s :: ss => qsBeq r s && qssBeq rs ss
  | _, _ => false

/-- Lists of lists written alike are equal. -/
theorem qssBeq_eq : (r s : List (List Q)) → qssBeq r s = true → r = s
  | [], [], _ => rfl
  | a :: as, b :: bs, h => by
    have h1 := and_true_split h
    rw [qsBeq_eq a b h1.1, qssBeq_eq as bs h1.2]
  | [], _ :: _, h => (false_ne_true' h).elim
  | _ :: _, [], h => (false_ne_true' h).elim

/-- `values` are what the packed literals decode to (one kernel evaluation of the decoding and of
`qssBeq`). -/
def decodesTo (packed : List (Nat × Nat)) (values : List (List Q)) : Bool :=
  match decodeAll packed with
  | some ps => qssBeq ps values
  | none => false

/-- Values the literals decode to are the decoded parameters. -/
theorem decodesTo_eq {packed : List (Nat × Nat)} {values : List (List Q)} (h : decodesTo packed values = true) :
    values = (decodeAll packed).getD [] := by
  unfold decodesTo at h
  cases hd : decodeAll packed with
  | none =>
    rw [hd] at h
    exact (false_ne_true' h).elim
  | some ps =>
    rw [hd] at h
    exact (qssBeq_eq ps values h).symm

/-- **The join.** The stages, evaluated on parameters `values` equal to `params` (an export's
`decodedParams`: the decoded numbers written out, so that no stage decodes the float32 literals
again), give the checker's evaluation on `params`. -/
theorem checkCROWN_staged {preps : List Prep} {g : Graph} {params values : List (List Q)} {box : Box} {certs : List NodeCert}
    {out : Nat} {p : OutProp} {lines : ClaimLines} (hv : values = params)
    (nodes : nodesOkFrom preps g values box certs 0 certs.length = true)
    (output : outputOkC preps g values box certs out p lines = true) :
    checkCROWN preps g params box certs out p lines = true :=
  hv ▸ checkCROWN_of_stages nodes output

end Pytorch2Lean
