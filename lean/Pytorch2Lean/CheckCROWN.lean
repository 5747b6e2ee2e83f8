/-
The CROWN certificate checker and its soundness theorem, proved once for every graph.

A CROWN certificate adds to the interval certificate (`CheckIBP.lean`): stated lines under and
over each ReLU (`Relax`), the elements of some nodes whose stated bounds come from
back-substitution, and lines per claim row (alpha-CROWN). The checker walks the nodes in order, as
`checkIBP` does; at a back-substituted node it may accept stated bounds tighter than the node's
interval: each such element `e` must lie within the intersection of the interval and the bounds
back-substitution gives for `v_e`.

Back-substitution (`backLower`) bounds a linear function `k + Σ c_i v_i` of the value `v` at table
index `j` from below. Through the op that computed `v` it becomes a linear function of the op's
operand (`backStep`): through `linear`/`matmul` with an exact weight by the exchange of sums
(`linear_exchange`), through `add`/`sub` of an exact value by moving that value's part into `k`,
through `flatten`/`reshape` unchanged, through a ReLU by its stated lines (the lower line where
`c_i ≥ 0`, the upper one where `c_i < 0`), each line checked on the operand's stated bounds. Where
no step applies (a model input, another op, a line missing), the function is bounded by the
stated bounds of `v` (`concretize`). Every step is sound whatever the certificate says, so the
checker needs no trust in the search that found the lines.

Soundness (`checkCROWN_sound`): by induction over the nodes, every value lies within its stated
bounds, as for `checkIBP`; the run so far is recorded (`Ran`) so that back-substitution can read
how each earlier value was computed.
-/
import Pytorch2Lean.Robust
import Pytorch2Lean.Relax
import Pytorch2Lean.Packed

namespace Pytorch2Lean

set_option linter.unusedSimpArgs false

/-- `true` when every row has `k` elements. -/
def rowsOk (k : Nat) (rows : List (List Q)) : Bool := rows.all (fun r => Nat.beq r.length k && allWFb r)

/-- `true` when two rationals are written alike (`Nat.beq`: a GMP comparison each; the derived
`DecidableEq` of `Q` costs the kernel several times more steps). -/
def qBeq (a b : Q) : Bool := sameSign a.neg b.neg && Nat.beq a.num b.num && Nat.beq a.den b.den

/-- `true` when two lists of rationals are written alike. -/
def qsBeq : List Q → List Q → Bool
  | [], [] => true
  | a :: as, b :: bs => qBeq a b && qsBeq as bs
  | _, _ => false

/-- Equal signs are equal. -/
theorem sameSign_eq : {a b : Bool} → sameSign a b = true → a = b
  | true, true, _ => rfl
  | false, false, _ => rfl
  | true, false, h => (false_ne_true' h).elim
  | false, true, h => (false_ne_true' h).elim

/-- Rationals written alike are equal. -/
theorem qBeq_eq : {a b : Q} → qBeq a b = true → a = b
  | ⟨n1, p1, d1⟩, ⟨n2, p2, d2⟩, h => by
    have h1 := and_true_split h
    have h2 := and_true_split h1.1
    have ep : p1 = p2 := nat_eq_of_beq_eq_true h2.2
    have ed : d1 = d2 := nat_eq_of_beq_eq_true h1.2
    have es : n1 = n2 := sameSign_eq h2.1
    subst ep
    subst ed
    subst es
    rfl

/-- Lists written alike are equal. -/
theorem qsBeq_eq : (r s : List Q) → qsBeq r s = true → r = s
  | [], [], _ => rfl
  | a :: as, b :: bs, h => by
    have h1 := and_true_split h
    rw [qBeq_eq h1.1, qsBeq_eq as bs h1.2]
  | [], _ :: _, h => (false_ne_true' h).elim
  | _ :: _, [], h => (false_ne_true' h).elim

/-- `true` when two lists of naturals are equal (`Nat.beq` each). -/
def natsBeq : List Nat → List Nat → Bool
  | [], [] => true
  | a :: as, b :: bs => Nat.beq a b && natsBeq as bs
  | _, _ => false

/-- Lists of naturals that `natsBeq` accepts are equal. -/
theorem natsBeq_eq : (r s : List Nat) → natsBeq r s = true → r = s
  | [], [], _ => rfl
  | a :: as, b :: bs, h => by
    have h1 := and_true_split h
    rw [nat_eq_of_beq_eq_true h1.1, natsBeq_eq as bs h1.2]
  | [], _ :: _, h => (false_ne_true' h).elim
  | _ :: _, [], h => (false_ne_true' h).elim

/-- `true` when two packed matrices are equal. -/
def packedBeq (a b : Packed) : Bool :=
  Nat.beq a.B b.B && Nat.beq a.S b.S && Nat.beq a.maxd b.maxd && natsBeq a.pos b.pos &&
    natsBeq a.neg b.neg && sameSign a.ok b.ok

/-- Packed matrices that `packedBeq` accepts are equal. -/
theorem packedBeq_eq : {a b : Packed} → packedBeq a b = true → a = b
  | ⟨B, S, m, p, n, o⟩, ⟨B', S', m', p', n', o'⟩, h => by
    have h1 := and_true_split h
    have h2 := and_true_split h1.1
    have h3 := and_true_split h2.1
    have h4 := and_true_split h3.1
    have h5 := and_true_split h4.1
    have e1 : B = B' := nat_eq_of_beq_eq_true h5.1
    have e2 : S = S' := nat_eq_of_beq_eq_true h5.2
    have e3 : m = m' := nat_eq_of_beq_eq_true h4.2
    have e4 : p = p' := natsBeq_eq p p' h3.2
    have e5 : n = n' := natsBeq_eq n n' h2.2
    have e6 : o = o' := sameSign_eq h1.2
    subst e1; subst e2; subst e3; subst e4; subst e5; subst e6
    rfl

/-- The rows a back step reads from a weight's values `src`: the columns of a `kk × nn` matrix
(`matmul`, `mm = true`) or the `nn` rows of `kk` elements (`linear`). -/
def prepRows (mm : Bool) (kk nn : Nat) (src : List Q) : List (List Q) :=
  cond mm (columns nn (chunks nn kk src)) (chunks kk nn src)

/-- A weight prepared once for the back steps through it: what `affineBack` computes from its
rows alone (their check, their packed form), with the proof that it is that. Every CROWN stage
of a model reads the same prepared weights (`Decoded.lean` of an export) instead of transposing
and packing each weight again in every kernel evaluation (some 3 s of CPU per 50x50 matrix). -/
structure Prep where
  /-- `true` for a `matmul` weight, `false` for a `linear` one. -/
  mm : Bool
  /-- The operand's length. -/
  kk : Nat
  /-- The output's length. -/
  nn : Nat
  /-- The weight's values. -/
  src : List Q
  /-- `rowsOk kk` of the rows. -/
  ok : Bool
  /-- `packRows` of the rows. -/
  pk : Packed
  /-- They are. -/
  valid : ok = rowsOk kk (prepRows mm kk nn src) ∧ pk = packRows (prepRows mm kk nn src)

/-- `true` when `ok` and `pk` are what a back step computes from the rows (one kernel evaluation
per weight and model). -/
def prepCheck (mm : Bool) (kk nn : Nat) (src : List Q) (ok : Bool) (pk : Packed) : Bool :=
  sameSign ok (rowsOk kk (prepRows mm kk nn src)) && packedBeq pk (packRows (prepRows mm kk nn src))

/-- What `prepCheck` accepts is a prepared weight's proof. -/
theorem prepCheck_valid {mm : Bool} {kk nn : Nat} {src : List Q} {ok : Bool} {pk : Packed}
    (h : prepCheck mm kk nn src ok pk = true) :
    ok = rowsOk kk (prepRows mm kk nn src) ∧ pk = packRows (prepRows mm kk nn src) :=
  ⟨sameSign_eq (and_true_split h).1, packedBeq_eq (and_true_split h).2⟩

/-- The prepared weight of values `lo` read as `prepRows mm kk nn lo`, if `preps` has one (the
values compared in one pass; other weights differ in their first elements). -/
def findPrep (mm : Bool) (kk nn : Nat) (lo : List Q) : List Prep → Option Prep
  | [] => none
  | p :: ps => cond (sameSign p.mm mm && Nat.beq p.kk kk && Nat.beq p.nn nn && qsBeq p.src lo) (some p)
      (findPrep mm kk nn lo ps)

/-- The check and the packed form of the rows `prepRows mm kk nn lo`: from a prepared weight where
`preps` has one, else computed. -/
def prepFor (preps : List Prep) (mm : Bool) (kk nn : Nat) (lo : List Q) : Bool × Packed :=
  match findPrep mm kk nn lo preps with
  | some p => (p.ok, p.pk)
  | none => (rowsOk kk (prepRows mm kk nn lo), packRows (prepRows mm kk nn lo))

/-- A prepared weight gives what would be computed. -/
theorem prepFor_eq (preps : List Prep) (mm : Bool) (kk nn : Nat) (lo : List Q) :
    prepFor preps mm kk nn lo = (rowsOk kk (prepRows mm kk nn lo), packRows (prepRows mm kk nn lo)) := by
  unfold prepFor
  induction preps with
  | nil => rfl
  | cons p ps ih =>
    show (match cond (sameSign p.mm mm && Nat.beq p.kk kk && Nat.beq p.nn nn && qsBeq p.src lo) (some p)
        (findPrep mm kk nn lo ps) with
      | some p => (p.ok, p.pk)
      | none => (rowsOk kk (prepRows mm kk nn lo), packRows (prepRows mm kk nn lo))) = _
    cases hc : (sameSign p.mm mm && Nat.beq p.kk kk && Nat.beq p.nn nn && qsBeq p.src lo) with
    | false => exact ih
    | true =>
      have h1 := and_true_split hc
      have h2 := and_true_split h1.1
      have h3 := and_true_split h2.1
      have em : p.mm = mm := sameSign_eq h3.1
      have ek : p.kk = kk := nat_eq_of_beq_eq_true h3.2
      have en : p.nn = nn := nat_eq_of_beq_eq_true h2.2
      have es : p.src = lo := qsBeq_eq p.src lo h1.2
      show (p.ok, p.pk) = _
      rw [p.valid.1, p.valid.2, em, ek, en, es]

/-- Back through `y_o = b_o + Σ_i x_i row_oi` (a single row `x` of `k` elements), given the rows'
check `ok` (`rowsOk k rows`) and packed form `pk` (`packRows rows`): the operand index, the new
coefficients `Σ_o c_o row_o` (packed, `colCombWith`) and constant `k + Σ_o c_o b_o`. -/
def affineBack (ok : Bool) (pk : Packed) (a : Nat) (x : Bounds) (rows : List (List Q)) (bs c : List Q) (k : Q) :
    Option (Nat × List Q × Q) :=
  guard (ok &&
      Nat.beq pk.pos.length bs.length && Nat.beq bs.length c.length && allWFb bs)
    (some (a, colCombWith pk c rows x.lo.length, dot bs c k))

/-- The bias of a `linear` node: its exact value, or zeros. -/
def biasOf (tbl : List Bounds) (out : Nat) : Option Nat → Option (List Q)
  | none => some (List.replicate out Q.zero)
  | some b => obind (nth tbl b) fun bb => guard bb.exact (some bb.lo)

/-- Back through `linear` with an exact weight (and bias) on a single row. -/
def linearBack (preps : List Prep) (tbl : List Bounds) (a w : Nat) (bias : Option Nat) (c : List Q) (k : Q) :
    Option (Nat × List Q × Q) :=
  obind (nth tbl a) fun x =>
  obind (nth tbl w) fun bw =>
  let kk := lastD bw.shape
  let out := headD bw.shape 0
  obind (biasOf tbl out bias) fun bs =>
  guard (bw.exact && Nat.beq (prod x.shape / kk) 1 && Nat.beq x.lo.length kk)
    (match prepFor preps false kk out bw.lo with
      | (ok, pk) => affineBack ok pk a x (prepRows false kk out bw.lo) bs c k)

/-- The shape of `matmul`'s first operand when it is a single row of `k`: `[k]` or `[1, k]`. -/
def rowShape (s : Shape) : Bool :=
  match s with
  | [_] => true
  | [m, _] => Nat.beq m 1
  | _ => false

/-- Back through `matmul` of a single row by an exact `k × n` matrix: its columns are the rows. -/
def matmulBack (preps : List Prep) (tbl : List Bounds) (a w : Nat) (c : List Q) (k : Q) :
    Option (Nat × List Q × Q) :=
  obind (nth tbl a) fun x =>
  obind (nth tbl w) fun bw =>
  match bw.shape with
  | [kk, nn] =>
    guard (bw.exact && rowShape x.shape && Nat.beq (lastD x.shape) kk && Nat.beq x.lo.length kk &&
        Nat.beq bw.lo.length (kk * nn))
      (match prepFor preps true kk nn bw.lo with
        | (ok, pk) => affineBack ok pk a x (prepRows true kk nn bw.lo) (List.replicate nn Q.zero) c k)
  | _ => none

/-- Back through `x + p`, `x - p` (`neg = true`) or `p - x` (`flip = true`), `p` exact: `x` must
have the output's shape, `p` is broadcast to it. -/
def sumBack (tbl : List Bounds) (op : OpTag) (attrs : Attrs) (a p : Nat) (flip : Bool) (c : List Q)
    (k : Q) : Option (Nat × List Q × Q) :=
  obind (nth tbl a) fun x =>
  obind (nth tbl p) fun bp =>
  obind (opShape op attrs (cond flip [bp.shape, x.shape] [x.shape, bp.shape])) fun o =>
  let pb := broadcastTo ⟨bp.shape, bp.lo⟩ o
  guard (bp.exact && decide (x.shape = o) && Nat.beq x.lo.length c.length &&
      Nat.beq pb.length c.length && allWFb pb)
    (match op, flip with
      | .add, _ => some (a, c, dot pb c k)
      | .sub, false => some (a, c, dot pb (c.map Q.neg') k)
      | .sub, true => some (a, c.map Q.neg', dot pb c k)
      | _, _ => none)

/-- Back through a ReLU by its stated lines, checked on the operand's stated bounds. -/
def reluBack (tbl : List Bounds) (a : Nat) (r : Relax) (c : List Q) (k : Q) :
    Option (Nat × List Q × Q) :=
  obind (nth tbl a) fun x =>
  guard (relaxOk r x.lo x.hi && Nat.beq r.length c.length)
    (some (a, reluSlopesF c r, dot (reluIntsF c r) c k))

/-- One step back through node `n` (with its stated lines `rel`, if any; `preps`: weights prepared
once, `prepFor`): the operand index and the linear function of the operand, or `none` where no
step applies. -/
def backStep (preps : List Prep) (tbl : List Bounds) (rel : Option Relax) (n : Node) (c : List Q) (k : Q) :
    Option (Nat × List Q × Q) :=
  match n.op, n.args with
  | .relu, [a] => obind rel fun r => reluBack tbl a r c k
  | .flatten, [a] => some (a, c, k)
  | .reshape, [a] => some (a, c, k)
  | .linear, [a, w] => linearBack preps tbl a w none c k
  | .linear, [a, w, b] => linearBack preps tbl a w (some b) c k
  | .matmul, [a, w] => matmulBack preps tbl a w c k
  | .add, [a, p] =>
    obind (nth tbl p) fun bp => cond bp.exact (sumBack tbl .add n.attrs a p false c k)
      (sumBack tbl .add n.attrs p a true c k)
  | .sub, [a, p] =>
    obind (nth tbl p) fun bp => cond bp.exact (sumBack tbl .sub n.attrs a p false c k)
      (sumBack tbl .sub n.attrs p a true c k)
  | _, _ => none

/-- The least value of `k + Σ c_i v_i` for `v` within the stated bounds `b`. -/
def concretize (b : Bounds) (c : List Q) (k : Q) : Q := dot (pickRow pickLo c b.lo b.hi) c k

/-- A lower bound of `k + Σ c_i v_i`, `v` the value at table index `j`: back through the node that
computed it (`defs`: the node of each table entry, `none` for inputs and parameters; `rels`: stated
lines by table index), down to earlier values, at most `fuel` steps, then by stated bounds. -/
def backLower (preps : List Prep) (tbl : List Bounds) (defs : List (Option Node)) (rels : List (Option Relax)) :
    Nat → Nat → List Q → Q → Option Q
  | 0, j, c, k => (nth tbl j).map fun b => concretize b c k
  | fuel + 1, j, c, k =>
    obind (nth tbl j) fun b =>
    match nthD defs j none with
    | some n =>
      match backStep preps tbl (nthD rels j none) n c k with
      | some (a, c', k') => cond (Nat.ble (a + 1) j) (backLower preps tbl defs rels fuel a c' k')
          (some (concretize b c k))
      | none => some (concretize b c k)
    | none => some (concretize b c k)

/-- Bounds of element `e` of node `n`'s value (about to enter the table at index `j = tbl.length`),
by back-substitution of `±v_e` through `n`: `(lower, upper)`, each `none` where no step applies. -/
def backBounds (preps : List Prep) (tbl : List Bounds) (defs : List (Option Node)) (rels : List (Option Relax))
    (n : Node) (size e : Nat) : Option Q × Option Q :=
  let j := tbl.length
  let from_ := fun (c : List Q) =>
    match backStep preps tbl (nthD rels j none) n c Q.zero with
    | some (a, c', k') => cond (Nat.ble (a + 1) j) (backLower preps tbl defs rels j a c' k') none
    | none => none
  (from_ (unitRow Q.one e size), (from_ (unitRow Q.negOne e size)).map Q.neg')

/-- The interval `(lo, hi)` of a node from element `e` on, tightened at the listed elements by
their back-substitution bounds. -/
def tighten (bnd : Nat → Option Q × Option Q) (rows : List Nat) : Nat → List Q → List Q → List Q × List Q
  | e, l :: ls, h :: hs =>
    let rest := tighten bnd rows (e + 1) ls hs
    let b := cond (memNat e rows) (bnd e) (none, none)
    (((b.1.map (Q.max l)).getD l) :: rest.1, ((b.2.map (Q.min h)).getD h) :: rest.2)
  | _, _, _ => ([], [])

/-- Check node `n` (entering the table at index `tbl.length`) against its stated bounds `st`: the
op's interval, tightened at elements `rows` by back-substitution, must lie within `st`. -/
def stepNodeC (preps : List Prep) (tbl : List Bounds) (defs : List (Option Node)) (rels : List (Option Relax))
    (n : Node) (rows : List Nat) (st : List Q × List Q) : Option Bounds :=
  obind (allSome (n.args.map (nth tbl))) fun args =>
  obind (opShape n.op n.attrs (args.map Bounds.shape)) fun o =>
  obind (intervalOp n.op n.attrs args o) fun iv =>
  let t := tighten (backBounds preps tbl defs rels n iv.1.length) rows 0 iv.1 iv.2
  guard (allWFb st.1 && allWFb st.2 && allLe st.1 t.1 && allLe t.2 st.2)
    (some ⟨o, st.1, st.2, false⟩)

/-- What a CROWN certificate states about one node: its bounds, its lines (ReLU nodes) and the
elements whose bounds come from back-substitution. -/
structure NodeCert where
  /-- Stated lower and upper bounds. -/
  bounds : List Q × List Q
  /-- Stated lines (ReLU nodes). -/
  relax : Option Relax
  /-- The back-substituted elements. -/
  rows : List Nat

/-- Check every node in order; the final table, nodes by table index and lines by table index. -/
def checkNodesC (preps : List Prep) : List Bounds → List (Option Node) → List (Option Relax) → List Node →
    List NodeCert → Option (List Bounds × List (Option Node) × List (Option Relax))
  | tbl, defs, rels, [], [] => some (tbl, defs, rels)
  | tbl, defs, rels, n :: ns, nc :: ncs =>
    match stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
    | some b => checkNodesC preps (tbl ++ [b]) (defs ++ [some n]) (rels ++ [nc.relax]) ns ncs
    | none => none
  | _, _, _, _, _ => none

/-- `true` when `y` within `[lo, hi]`, with `k + Σ c_i y_i ≥ low` proven by back-substitution
(when `low` is some), violates the constraint `c` for sure. -/
def Constraint.refutedByC (c : Constraint) (lo hi : List Q) (low : Option Q) : Bool :=
  c.refutedBy lo hi ||
    (match low with
      | some β => allWFb c.coeffs && Nat.ble 1 c.bound.den &&
          cond c.strict (Q.ble c.bound β) (Q.blt c.bound β)
      | none => false)

/-- Lines per claim constraint (alpha-CROWN), in the order of the terms and their constraints:
`some rels` replaces the node lines by table index for that constraint's back-substitution. -/
abbrev ClaimLines := List (List (Option (List (Option Relax))))

/-- The property holds for every output within `[lo, hi]` whose constraint values are bounded
below by back-substitution from table index `j`. -/
def OutProp.checkC (p : OutProp) (lo hi : List Q) (low : List Q → List (Option Relax) → Option Q)
    (rels : List (Option Relax)) (lines : ClaimLines) : Bool :=
  match p with
  | .box l h => allWFb l && allWFb h && allLe l lo && allLe hi h
  | .avoids terms =>
    (zipWithL Prod.mk terms (lines ++ List.replicate terms.length [])).all fun tl =>
      (zipWithL Prod.mk tl.1 (tl.2 ++ List.replicate tl.1.length none)).any fun cl =>
        cl.1.refutedByC lo hi (low cl.1.coeffs (cl.2.getD rels))

/-- The claim on the tables `r` the nodes leave (bounds, nodes and lines by table index): output
`out`'s bounds, and back-substitution from it, imply `p`. -/
def claimC (preps : List Prep) (g : Graph) (r : List Bounds × List (Option Node) × List (Option Relax))
    (out : Nat) (p : OutProp) (lines : ClaimLines) : Option Bool :=
  obind (allSome (g.outputs.map (nth r.1))) fun _ =>
  obind (nth g.outputs out) fun j =>
  (nth r.1 j).map fun b =>
    p.checkC b.lo b.hi (fun c rels => backLower preps r.1 r.2.1 rels j j c Q.zero) r.2.2 lines

/-- The certificate's verdict after the nodes check: the claim on the checked tables. -/
def checkOutputC (preps : List Prep) (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out : Nat) (p : OutProp) (lines : ClaimLines) : Option Bool :=
  let tbl0 := initBounds g params box
  obind (checkNodesC preps tbl0 (List.replicate tbl0.length none) (List.replicate tbl0.length none) g.nodes
      certs) fun r => claimC preps g r out p lines

/-- The box and the parameters fit the graph's inputs and parameters, all rationals. -/
def boxParamsOk (g : Graph) (params : List (List Q)) (box : Box) : Bool :=
  sizesOk g.inputs (box.map (fun b => b.1)) && box.all (fun b => allWFb b.1 && allWFb b.2) &&
    sizesOk g.params params && params.all allWFb

/-- The CROWN certificate checker: the box and parameters fit the graph, every node's stated
bounds contain its (tightened) interval, and output `out`'s bounds imply `p`. `preps`: weights
prepared once (`Prep`, each with its proof; `[]` computes every weight's rows in place); the
verdict is the same for every list (`prepFor_eq`). -/
def checkCROWN (preps : List Prep) (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out : Nat) (p : OutProp) (lines : ClaimLines) : Bool :=
  boxParamsOk g params box && isSomeTrue (checkOutputC preps g params box certs out p lines)

/-! ### Soundness: lists, and the run so far -/

/-- The value of the linear function `k + Σ c_i v_i`, on the naturals. -/
def lin (c : List Q) (k : Q) (v : List Q) : V := V.add k.toV (vdot c v)

/-- A linear function of rationals has a positive denominator. -/
theorem lin_den {c : List Q} {k : Q} {v : List Q} (hc : AllWF c) (hk : k.WF) (hv : AllWF v) :
    0 < (lin c k v).den :=
  nat_mul_pos hk (vdot_den_pos c v hc hv)

/-- An element of a prefix is an element of the list, at an index below the prefix length. -/
theorem nth_take_some {α : Type} : (l : List α) → (m a : Nat) → (x : α) → nth (l.take m) a = some x →
    a < m ∧ nth l a = some x
  | [], 0, _, _, h => (none_ne_some h).elim
  | [], _ + 1, _, _, h => (none_ne_some h).elim
  | _ :: _, 0, _, _, h => (none_ne_some h).elim
  | _ :: _, m + 1, 0, _, h => ⟨nat_succ_pos m, h⟩
  | _ :: bs, m + 1, a + 1, x, h =>
    have r := nth_take_some bs m a x h
    ⟨nat_succ_le_succ r.1, r.2⟩

/-- Appending does not change the elements before. -/
theorem nth_append_lt {α : Type} : (l r : List α) → (a : Nat) → a < l.length → nth (l ++ r) a = nth l a
  | [], _, _, h => (nat_not_succ_le_zero _ h).elim
  | _ :: _, _, 0, _ => rfl
  | _ :: bs, r, a + 1, h => nth_append_lt bs r a (nat_le_of_succ_le_succ h)

/-- The appended element sits at the old length. -/
theorem nth_append_len {α : Type} (t : α) : (l : List α) → nth (l ++ [t]) l.length = some t
  | [] => rfl
  | _ :: bs => nth_append_len t bs

/-- Past the appended element there is nothing. -/
theorem nth_append_gt {α : Type} (t : α) : (l : List α) → (a : Nat) → l.length < a → nth (l ++ [t]) a = none
  | [], 0, h => (nat_not_succ_le_zero _ h).elim
  | [], _ + 1, _ => rfl
  | _ :: _, 0, h => (nat_not_succ_le_zero _ h).elim
  | _ :: bs, a + 1, h => nth_append_gt t bs a (nat_le_of_succ_le_succ h)

/-- A prefix no longer than the first part is a prefix of the first part. -/
theorem take_append_le {α : Type} : (l r : List α) → (m : Nat) → m ≤ l.length → (l ++ r).take m = l.take m
  | _, _, 0, _ => rfl
  | [], _, _ + 1, h => (nat_not_succ_le_zero _ h).elim
  | b :: bs, r, m + 1, h => by
    show b :: (bs ++ r).take m = b :: bs.take m
    rw [take_append_le bs r m (nat_le_of_succ_le_succ h)]

/-- A list is its own prefix of its length. -/
theorem take_length_self {α : Type} : (l : List α) → l.take l.length = l
  | [] => rfl
  | b :: bs => by
    show b :: bs.take bs.length = b :: bs
    rw [take_length_self bs]

/-- Element `j` of a list of `none`s. -/
theorem nthD_replicate_none {α : Type} : (m j : Nat) → nthD (List.replicate m (none : Option α)) j none = none
  | 0, _ => rfl
  | _ + 1, 0 => rfl
  | m + 1, j + 1 => nthD_replicate_none m j

/-- Each node's value was computed, from the values before it, by the node recorded for it
(`defs`: the node of each table index; `none` for inputs and parameters). -/
def Ran (E : Enclosure) (defs : List (Option Node)) (env : List Tensor) : Prop :=
  ∀ j n t, nthD defs j none = some n → nth env j = some t → evalNode E (env.take j) n = some t

/-- Before any node, nothing is recorded. -/
theorem Ran.init (E : Enclosure) (env : List Tensor) (m : Nat) : Ran E (List.replicate m none) env := by
  intro j n t hd _
  rw [nthD_replicate_none m j] at hd
  exact (none_ne_some hd).elim

/-- A node's value appended to the run. -/
theorem Ran.snoc {E : Enclosure} {defs : List (Option Node)} {env : List Tensor} {n : Node} {t : Tensor}
    (hr : Ran E defs env) (hl : defs.length = env.length) (he : evalNode E env n = some t) :
    Ran E (defs ++ [some n]) (env ++ [t]) := by
  intro j n' t' hd ht
  cases nat_lt_or_ge j env.length with
  | inl hlt =>
    have hd' : nthD defs j none = some n' := by
      have e : nthD (defs ++ [some n]) j none = nthD defs j none := by
        unfold nthD
        rw [nth_append_lt defs [some n] j (hl ▸ hlt)]
      rw [← e]
      exact hd
    rw [nth_append_lt env [t] j hlt] at ht
    rw [take_append_le env [t] j (nat_le_trans (nat_le_succ j) hlt)]
    exact hr j n' t' hd' ht
  | inr hge =>
    cases nat_eq_or_lt_of_le hge with
    | inl heq =>
      subst heq
      rw [nth_append_len t env] at ht
      have hd' : nthD (defs ++ [some n]) defs.length none = some n' := hl ▸ hd
      have e2 : n = n' := by
        unfold nthD at hd'
        rw [nth_append_len (some n) defs] at hd'
        exact some_inj hd'
      rw [← some_inj ht, ← e2]
      rw [take_append_le env [t] env.length (nat_le_refl _), take_length_self env]
      exact he
    | inr hgt =>
      rw [nth_append_gt t env j hgt] at ht
      exact (none_ne_some ht).elim

/-- Every value of `pre` is enclosed by the table entry of its index. -/
def Look (tbl : List Bounds) (pre : List Tensor) : Prop :=
  ∀ i x, nth pre i = some x → ∃ b, nth tbl i = some b ∧ Encloses b x

/-- Related tables, read from the second. -/
theorem All2.get' {α β : Type} {R : α → β → Prop} : {as : List α} → {bs : List β} → All2 R as bs →
    (i : Nat) → (b : β) → nth bs i = some b → ∃ a, nth as i = some a ∧ R a b
  | [], [], .nil, _, _, h => (none_ne_some h).elim
  | a :: _, _ :: _, .cons e _, 0, _, h => ⟨a, rfl, (some_inj h) ▸ e⟩
  | _ :: _, _ :: _, .cons _ r, i + 1, b, h => All2.get' r i b h

/-- A prefix of an enclosed run is looked up in the table. -/
theorem look_take {tbl : List Bounds} {env : List Tensor} (hr : All2 Encloses tbl env) (m : Nat) :
    Look tbl (env.take m) := by
  intro i x h
  exact All2.get' hr i x (nth_take_some env m i x h).2

/-- A node that evaluates: its operands, output shape and elements. -/
theorem evalNode_some {E : Enclosure} {pre : List Tensor} {n : Node} {t : Tensor}
    (h : evalNode E pre n = some t) :
    ∃ args o data, allSome (n.args.map (nth pre)) = some args ∧
      opShape n.op n.attrs (args.map Tensor.shape) = some o ∧
      evalOp E n.op n.attrs args o = some data ∧ t = ⟨o, data⟩ := by
  obtain ⟨args, ha, h1⟩ := obind_some h
  obtain ⟨o, ho, h2⟩ := obind_some h1
  obtain ⟨data, hd, e⟩ := option_map_some h2
  exact ⟨args, o, data, ha, ho, hd, e.symm⟩

/-- A successful `allSome`, head and rest. -/
theorem allSome_cons' {α : Type} {o : Option α} {rest : List (Option α)} {xs : List α}
    (h : allSome (o :: rest) = some xs) : ∃ a ys, o = some a ∧ allSome rest = some ys ∧ xs = a :: ys := by
  cases o with
  | none => exact (none_ne_some h).elim
  | some a =>
    obtain ⟨ys, hys, e⟩ := allSome_cons h
    exact ⟨a, ys, rfl, hys, e⟩

/-- A successful `allSome` of nothing. -/
theorem allSome_nil' {α : Type} {xs : List α} (h : allSome ([] : List (Option α)) = some xs) : xs = [] :=
  (some_inj h).symm

/-! ### Soundness: one step back -/

/-- Sums commute. -/
theorem V.add_comm_eqv (a b : V) : V.eqv (V.add a b) (V.add b a) := by
  unfold V.eqv V.add
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- `(K + A) + B = K + (B + A)`. -/
theorem V.add_swap_eqv (K A B : V) : V.eqv (V.add (V.add K A) B) (V.add K (V.add B A)) := by
  unfold V.eqv V.add
  simp only [nat_left_distrib, nat_right_distrib]
  simp only [nat_mul_comm, nat_mul_assoc, nat_mul_left_comm]
  simp only [nat_add_comm, nat_add_assoc, nat_add_left_comm]

/-- Rows that check have `k` elements, all rationals. -/
theorem rowsOk_sound {k : Nat} {rows : List (List Q)} (h : rowsOk k rows = true) :
    ∀ r, r ∈ rows → AllWF r ∧ r.length = k := by
  intro r hr
  have e := and_true_split (all_sound rows h r hr)
  exact ⟨allWFb_sound e.2, nat_eq_of_beq_eq_true e.1⟩

/-- A chain of four value equalities, with positive denominators in the middle. -/
theorem V.eqv_chain4 {a b c d e : V} (h1 : V.eqv a b) (h2 : V.eqv b c) (h3 : V.eqv c d) (h4 : V.eqv d e)
    (hb : 0 < b.den) (hc : 0 < c.den) (hd : 0 < d.den) : V.eqv a e :=
  V.eqv_trans (V.eqv_trans (V.eqv_trans h1 h2 hb) h3 hc) h4 hd

/-- Back through an affine map of a single row: the new linear function of the operand has the
value of the old one of the output. -/
theorem affineBack_sound {ok : Bool} {pk : Packed} {a : Nat} {x : Bounds} {rows : List (List Q)}
    {bs c : List Q} {k : Q} {a' : Nat} {c' : List Q} {k' : Q} {xv : List Q} (hok : ok = rowsOk x.lo.length rows)
    (hpk : pk = packRows rows) (w : Within x.lo xv x.hi) (hc : AllWF c) (hk : k.WF)
    (h : affineBack ok pk a x rows bs c k = some (a', c', k')) :
    a' = a ∧ rows.length = bs.length ∧ AllWF c' ∧ k'.WF ∧
      V.eqv (lin c' k' xv) (lin c k (zipWithL (fun row b => dot xv row b) rows bs)) := by
  subst hok
  subst hpk
  obtain ⟨hg, hs⟩ := guard_some h
  cases some_inj hs
  have g1 := and_true_split hg
  have g2 := and_true_split g1.1
  have g3 := and_true_split g2.1
  have hbs : AllWF bs := allWFb_sound g1.2
  have hl2 : bs.length = c.length := nat_eq_of_beq_eq_true g2.2
  have hl1 : rows.length = bs.length := (packRows_pos_length rows).symm.trans (nat_eq_of_beq_eq_true g3.2)
  have hx : AllWF xv := Within.wf_x w
  have hlen : xv.length = x.lo.length := Within.length_lo w
  have hrows : ∀ r, r ∈ rows → AllWF r ∧ r.length = xv.length := by
    intro r hr
    have e := rowsOk_sound g3.1 r hr
    exact ⟨e.1, hlen ▸ e.2⟩
  have ex0 := linear_exchange xv rows bs c hx hrows hbs hc hl1 hl2
  have hF := colCombF_vdot c rows xv hc hx hrows
  have ex : V.eqv (vdot c (zipWithL (fun row b => dot xv row b) rows bs))
      (V.add (vdot c bs) (vdot (colCombF c rows xv.length) xv)) :=
    V.eqv_trans ex0 (V.add_congr (V.eqv_refl _) (V.eqv_symm' hF))
      (nat_mul_pos (vdot_den_pos c bs hc hbs) (vdot_den_pos _ xv (colComb_wf c rows xv.length) hx))
  rw [hlen] at ex
  have hcc := colCombF_wf c rows x.lo.length
  refine ⟨rfl, hl1, hcc, dot_wf _ _ _, ?_⟩
  have pK := hk
  have pP := vdot_den_pos bs c hbs hc
  have pP' := vdot_den_pos c bs hc hbs
  have pC := vdot_den_pos (colCombF c rows x.lo.length) xv hcc hx
  exact V.eqv_chain4
    (V.add_congr (dot_eqv bs c k hbs hc hk) (V.eqv_refl _))
    (V.add_congr (V.add_congr (V.eqv_refl _) (vdot_comm bs c)) (V.eqv_refl _))
    (V.add_assoc_eqv _ _ _)
    (V.add_congr (V.eqv_refl _) (V.eqv_symm' ex))
    (nat_mul_pos (nat_mul_pos pK pP) pC) (nat_mul_pos (nat_mul_pos pK pP') pC)
    (nat_mul_pos pK (nat_mul_pos pP' pC))

/-- Back through a ReLU by accepted lines: the new linear function of the operand is at most the
old one of the output. -/
theorem reluBack_sound {tbl : List Bounds} {a : Nat} {r : Relax} {c : List Q} {k : Q} {a' : Nat}
    {c' : List Q} {k' : Q} {bx : Bounds} {xv : List Q} (hb : nth tbl a = some bx)
    (w : Within bx.lo xv bx.hi) (hc : AllWF c) (hk : k.WF) (h : reluBack tbl a r c k = some (a', c', k')) :
    a' = a ∧ AllWF c' ∧ k'.WF ∧ V.le (lin c' k' xv) (lin c k (xv.map reluQ)) := by
  unfold reluBack at h
  rw [reluSlopesF_eq, reluIntsF_eq] at h
  obtain ⟨bx', hb', h1⟩ := obind_some h
  rw [hb] at hb'
  cases some_inj hb'
  obtain ⟨hg, hs⟩ := guard_some h1
  cases some_inj hs
  have g1 := and_true_split hg
  have hl : r.length = c.length := nat_eq_of_beq_eq_true g1.2
  have hx : AllWF xv := Within.wf_x w
  have hi := reluInts_wf (c := c) g1.1
  have hsl := reluSlopes_wf c r
  refine ⟨rfl, hsl, dot_wf _ _ _, ?_⟩
  have pK := hk
  have pI := vdot_den_pos (reluInts c r) c hi hc
  have pS := vdot_den_pos (reluSlopes c r) xv hsl hx
  have e1 : V.eqv (lin (reluSlopes c r) (dot (reluInts c r) c k) xv)
      (V.add k.toV (V.add (vdot (reluInts c r) c) (vdot (reluSlopes c r) xv))) :=
    V.eqv_trans (V.add_congr (dot_eqv (reluInts c r) c k hi hc hk) (V.eqv_refl _))
      (V.add_assoc_eqv _ _ _) (nat_mul_pos (nat_mul_pos pK pI) pS)
  exact V.le_trans (V.le_of_eqv e1)
    (V.add_le_add (V.le_refl k.toV) (relu_lines_sum w g1.1 hc hl))
    (nat_mul_pos pK (nat_mul_pos pI pS))

/-- Negated coefficients are rationals. -/
theorem allWF_map_neg : (c : List Q) → AllWF c → AllWF (c.map Q.neg')
  | [], _ => fun _ h => nomatch h
  | a :: as, h => by
    intro q hq
    cases hq with
    | head => exact Q.neg_wf (h a (List.Mem.head _))
    | tail _ hq' => exact allWF_map_neg as (fun q hq => h q (List.Mem.tail a hq)) q hq'

/-- Back through a sum or difference with an exact operand `P` (first when `flip`): the new
linear function of `X` has the value of the old one of the output. -/
theorem sumBack_sound (E : Enclosure) {tbl : List Bounds} {op : OpTag} {attrs : Attrs} {a p : Nat}
    {flip : Bool} {c : List Q} {k : Q} {a' : Nat} {c' : List Q} {k' : Q} {bx bp : Bounds} {X P : Tensor}
    {o : Shape} {data : List Q} (hbx : nth tbl a = some bx) (hbp : nth tbl p = some bp)
    (ex : Encloses bx X) (ep : Encloses bp P) (hc : AllWF c) (hk : k.WF)
    (ho : opShape op attrs (cond flip [P.shape, X.shape] [X.shape, P.shape]) = some o)
    (hev : evalOp E op attrs (cond flip [P, X] [X, P]) o = some data)
    (h : sumBack tbl op attrs a p flip c k = some (a', c', k')) :
    a' = a ∧ AllWF c' ∧ k'.WF ∧ V.le (lin c' k' X.data) (lin c k data) := by
  obtain ⟨bx', hbx', h1⟩ := obind_some h
  rw [hbx] at hbx'
  cases some_inj hbx'
  obtain ⟨bp', hbp', h2⟩ := obind_some h1
  rw [hbp] at hbp'
  cases some_inj hbp'
  obtain ⟨o', ho', h3⟩ := obind_some h2
  have eo : o' = o := by
    rw [← ex.1, ← ep.1] at ho'
    exact some_inj (ho'.symm.trans ho)
  subst eo
  obtain ⟨hg, hs⟩ := guard_some h3
  have g1 := and_true_split hg
  have g2 := and_true_split g1.1
  have g3 := and_true_split g2.1
  have g4 := and_true_split g3.1
  have hpb : AllWF (broadcastTo ⟨bp.shape, bp.lo⟩ o') := allWFb_sound g1.2
  have hx : AllWF X.data := Within.wf_x ex.2.1
  have hXl : X.data.length = c.length := (Within.length_lo ex.2.1).trans (nat_eq_of_beq_eq_true g3.2)
  have hPl : (broadcastTo ⟨bp.shape, bp.lo⟩ o').length = c.length := nat_eq_of_beq_eq_true g2.2
  have hXb : broadcastTo X o' = X.data := by
    unfold broadcastTo
    rw [ex.1, g4.2]
    rfl
  have hPb : broadcastTo P o' = broadcastTo ⟨bp.shape, bp.lo⟩ o' := by
    cases P with
    | mk ps pd =>
      have e1 : ps = bp.shape := ep.1
      have e2 : pd = bp.lo := ep.2.2 g4.1
      rw [e1, e2]
  generalize broadcastTo ⟨bp.shape, bp.lo⟩ o' = pb at hpb hPl hPb hs
  have pK := hk
  have pX := vdot_den_pos c X.data hc hx
  have pP := vdot_den_pos c pb hc hpb
  have pP' := vdot_den_pos pb c hpb hc
  cases op <;> cases flip <;> (try exact (none_ne_some hs).elim)
  · -- x + p
    cases some_inj hs
    have hd : data = zipWithL Q.add X.data pb := by
      have e := some_inj hev.symm
      rw [e]
      show binaryEval Q.add X P o' = _
      unfold binaryEval
      rw [hXb, hPb]
    subst hd
    refine ⟨rfl, hc, dot_wf _ _ _, V.le_of_eqv ?_⟩
    exact V.eqv_chain4
      (V.add_congr (dot_eqv pb c k hpb hc hk) (V.eqv_refl _))
      (V.add_congr (V.add_congr (V.eqv_refl _) (vdot_comm pb c)) (V.eqv_refl _))
      (V.add_swap_eqv _ _ _)
      (V.add_congr (V.eqv_refl _) (V.eqv_symm' (vdot_add c X.data pb hc hx hpb (hXl.trans hPl.symm))))
      (nat_mul_pos (nat_mul_pos pK pP') pX) (nat_mul_pos (nat_mul_pos pK pP) pX)
      (nat_mul_pos pK (nat_mul_pos pX pP))
  · -- p + x
    cases some_inj hs
    have hd : data = zipWithL Q.add pb X.data := by
      have e := some_inj hev.symm
      rw [e]
      show binaryEval Q.add P X o' = _
      unfold binaryEval
      rw [hXb, hPb]
    subst hd
    refine ⟨rfl, hc, dot_wf _ _ _, V.le_of_eqv ?_⟩
    exact V.eqv_chain4
      (V.add_congr (dot_eqv pb c k hpb hc hk) (V.eqv_refl _))
      (V.add_congr (V.add_congr (V.eqv_refl _) (vdot_comm pb c)) (V.eqv_refl _))
      (V.add_assoc_eqv _ _ _)
      (V.add_congr (V.eqv_refl _) (V.eqv_symm' (vdot_add c pb X.data hc hpb hx (hPl.trans hXl.symm))))
      (nat_mul_pos (nat_mul_pos pK pP') pX) (nat_mul_pos (nat_mul_pos pK pP) pX)
      (nat_mul_pos pK (nat_mul_pos pP pX))
  · -- x - p
    cases some_inj hs
    have hd : data = zipWithL Q.sub X.data pb := by
      have e := some_inj hev.symm
      rw [e]
      show binaryEval Q.sub X P o' = _
      unfold binaryEval
      rw [hXb, hPb]
    subst hd
    have hn := allWF_map_neg c hc
    have pN := vdot_den_pos (c.map Q.neg') pb hn hpb
    have pN' := vdot_den_pos pb (c.map Q.neg') hpb hn
    refine ⟨rfl, hc, dot_wf _ _ _, V.le_of_eqv ?_⟩
    exact V.eqv_chain4
      (V.add_congr (dot_eqv pb (c.map Q.neg') k hpb hn hk) (V.eqv_refl _))
      (V.add_congr (V.add_congr (V.eqv_refl _)
        (V.eqv_trans (vdot_comm pb (c.map Q.neg')) (vdot_neg c pb hc hpb) pN)) (V.eqv_refl _))
      (V.add_swap_eqv _ _ _)
      (V.add_congr (V.eqv_refl _) (V.eqv_symm' (vdot_sub c X.data pb hc hx hpb (hXl.trans hPl.symm))))
      (nat_mul_pos (nat_mul_pos pK pN') pX) (nat_mul_pos (nat_mul_pos pK pP) pX)
      (nat_mul_pos pK (nat_mul_pos pX pP))
  · -- p - x
    cases some_inj hs
    have hd : data = zipWithL Q.sub pb X.data := by
      have e := some_inj hev.symm
      rw [e]
      show binaryEval Q.sub P X o' = _
      unfold binaryEval
      rw [hXb, hPb]
    subst hd
    have hn := allWF_map_neg c hc
    have pN := vdot_den_pos (c.map Q.neg') X.data hn hx
    refine ⟨rfl, hn, dot_wf _ _ _, V.le_of_eqv ?_⟩
    exact V.eqv_chain4
      (V.add_congr (dot_eqv pb c k hpb hc hk) (V.eqv_refl _))
      (V.add_congr (V.add_congr (V.eqv_refl _) (vdot_comm pb c)) (vdot_neg c X.data hc hx))
      (V.add_assoc_eqv _ _ _)
      (V.add_congr (V.eqv_refl _) (V.eqv_symm' (vdot_sub c pb X.data hc hpb hx (hPl.trans hXl.symm))))
      (nat_mul_pos (nat_mul_pos pK pP') pN) (nat_mul_pos (nat_mul_pos pK pP) pX)
      (nat_mul_pos pK (nat_mul_pos pP pX))

/-- `linear` on a single row `X`: one `dot` per weight row and bias. -/
theorem linearEval_row (X W : Tensor) (bias : Option Tensor) (h1 : prod X.shape / lastD W.shape = 1)
    (hl : X.data.length = lastD W.shape) :
    linearEval X W bias = zipWithL (fun wr b => dot X.data wr b) (chunks (lastD W.shape) (headD W.shape 0) W.data)
      (match bias with
        | some b => b.data
        | none => List.replicate (headD W.shape 0) Q.zero) := by
  show concatMap (fun r => zipWithL (fun wr b => dot r wr b) (chunks (lastD W.shape) (headD W.shape 0) W.data)
      (match bias with
        | some b => b.data
        | none => List.replicate (headD W.shape 0) Q.zero))
      (chunks (lastD W.shape) (prod X.shape / lastD W.shape) X.data) = _
  rw [h1]
  show zipWithL _ _ _ ++ [] = _
  rw [list_append_nil, ← hl, take_length_self]

/-- `zipWithL` against a list of one repeated element. -/
theorem zipWithL_replicate {α β γ : Type} (f : α → β → γ) (z : β) :
    (l : List α) → zipWithL f l (List.replicate l.length z) = l.map (fun a => f a z)
  | [] => rfl
  | a :: as => by
    show f a z :: zipWithL f as (List.replicate as.length z) = f a z :: as.map (fun a => f a z)
    rw [zipWithL_replicate f z as]

/-- `matmul` of a single row `a` (shape `[k]` or `[1, k]`) by a `k × n` matrix: one `dot` per column. -/
theorem matmul_row (sa : Shape) (hs : rowShape sa = true) (kk nn : Nat) (hk : lastD sa = kk)
    (a b : List Q) (ha : a.length = kk) (hb : b.length = kk * nn) :
    matmulBlocks matmul2 sa a [kk, nn] b = (columns nn (chunks nn kk b)).map (fun col => dot a col Q.zero) := by
  have e : matmulBlocks matmul2 sa a [kk, nn] b =
      matmul2 (a.take (1 * kk)) (b.take (kk * nn)) kk nn 1 ++ [] := by
    match sa, hs with
    | [s], _ =>
      have e' : s = kk := hk
      subst e'
      rfl
    | [m, s], hm =>
      have e' : s = kk := hk
      have em : m = 1 := nat_eq_of_beq_eq_true hm
      subst e'
      subst em
      rfl
  rw [e, list_append_nil, nat_one_mul, ← hb, take_length_self, ← ha, take_length_self]
  show (columns nn (chunks nn a.length b)).map _ ++ [] = _
  rw [list_append_nil, take_length_self]

/-- Back through `linear` with an exact weight: the conditions it checked, and the value equality
for the bias values `biasOf` read. -/
theorem linearBack_sound {preps : List Prep} {tbl : List Bounds} {a w : Nat} {bias : Option Nat} {c : List Q} {k : Q}
    {a' : Nat} {c' : List Q} {k' : Q} {bx bw : Bounds} {X W : Tensor} (hbx : nth tbl a = some bx)
    (hbw : nth tbl w = some bw) (ex : Encloses bx X) (ew : Encloses bw W) (hc : AllWF c) (hk : k.WF)
    (h : linearBack preps tbl a w bias c k = some (a', c', k')) :
    ∃ bs, biasOf tbl (headD W.shape 0) bias = some bs ∧ a' = a ∧ AllWF c' ∧ k'.WF ∧
      prod X.shape / lastD W.shape = 1 ∧ X.data.length = lastD W.shape ∧
      V.eqv (lin c' k' X.data)
        (lin c k (zipWithL (fun wr b => dot X.data wr b) (chunks (lastD W.shape) (headD W.shape 0) W.data) bs)) := by
  obtain ⟨bx', hbx', h1⟩ := obind_some h
  rw [hbx] at hbx'
  cases some_inj hbx'
  obtain ⟨bw', hbw', h2⟩ := obind_some h1
  rw [hbw] at hbw'
  cases some_inj hbw'
  obtain ⟨bs, hbs, h3⟩ := obind_some h2
  obtain ⟨hg, h4⟩ := guard_some h3
  have g1 := and_true_split hg
  have g2 := and_true_split g1.1
  have hW : W.data = bw.lo := ew.2.2 g2.1
  have hWs : W.shape = bw.shape := ew.1
  have hXs : X.shape = bx.shape := ex.1
  have hXl : X.data.length = bx.lo.length := Within.length_lo ex.2.1
  have h4' : affineBack (rowsOk (lastD bw.shape) (chunks (lastD bw.shape) (headD bw.shape 0) bw.lo))
      (packRows (chunks (lastD bw.shape) (headD bw.shape 0) bw.lo)) a bx
      (chunks (lastD bw.shape) (headD bw.shape 0) bw.lo) bs c k = some (a', c', k') := by
    have e := prepFor_eq preps false (lastD bw.shape) (headD bw.shape 0) bw.lo
    rw [e] at h4
    exact h4
  have hok : rowsOk (lastD bw.shape) (chunks (lastD bw.shape) (headD bw.shape 0) bw.lo) =
      rowsOk bx.lo.length (chunks (lastD bw.shape) (headD bw.shape 0) bw.lo) := by
    rw [nat_eq_of_beq_eq_true g1.2]
  obtain ⟨ea, _, hc', hk', eq⟩ := affineBack_sound hok rfl ex.2.1 hc hk h4'
  refine ⟨bs, hWs ▸ hbs, ea, hc', hk', ?_, ?_, ?_⟩
  · rw [hXs, hWs]
    exact nat_eq_of_beq_eq_true g2.2
  · rw [hXl, hWs]
    exact nat_eq_of_beq_eq_true g1.2
  · rw [hW, hWs]
    exact eq

/-- Back through `matmul` of a single row by an exact matrix: the conditions it checked, and the
value equality. -/
theorem matmulBack_sound {preps : List Prep} {tbl : List Bounds} {a w : Nat} {c : List Q} {k : Q} {a' : Nat} {c' : List Q}
    {k' : Q} {bx bw : Bounds} {X W : Tensor} (hbx : nth tbl a = some bx) (hbw : nth tbl w = some bw)
    (ex : Encloses bx X) (ew : Encloses bw W) (hc : AllWF c) (hk : k.WF)
    (h : matmulBack preps tbl a w c k = some (a', c', k')) :
    a' = a ∧ AllWF c' ∧ k'.WF ∧ V.le (lin c' k' X.data) (lin c k (matmulEval X W)) := by
  obtain ⟨bx', hbx', h1⟩ := obind_some h
  rw [hbx] at hbx'
  cases some_inj hbx'
  obtain ⟨bw', hbw', h2⟩ := obind_some h1
  rw [hbw] at hbw'
  cases some_inj hbw'
  have hWs : W.shape = bw.shape := ew.1
  have hXs : X.shape = bx.shape := ex.1
  have hXl : X.data.length = bx.lo.length := Within.length_lo ex.2.1
  cases W with
  | mk ws wd =>
  cases X with
  | mk xs xd =>
  have hWs' : ws = bw.shape := hWs
  have hXs' : xs = bx.shape := hXs
  match hsh : bw.shape, h2 with
  | [kk, nn], h2 =>
    obtain ⟨hg, h3⟩ := guard_some h2
    have g1 := and_true_split hg
    have g2 := and_true_split g1.1
    have g3 := and_true_split g2.1
    have g4 := and_true_split g3.1
    have hW : wd = bw.lo := ew.2.2 g4.1
    have h3' : affineBack (rowsOk kk (columns nn (chunks nn kk bw.lo))) (packRows (columns nn (chunks nn kk bw.lo)))
        a bx (columns nn (chunks nn kk bw.lo)) (List.replicate nn Q.zero) c k = some (a', c', k') := by
      have e := prepFor_eq preps true kk nn bw.lo
      rw [e] at h3
      exact h3
    have hok : rowsOk kk (columns nn (chunks nn kk bw.lo)) = rowsOk bx.lo.length (columns nn (chunks nn kk bw.lo)) := by
      rw [nat_eq_of_beq_eq_true g2.2]
    obtain ⟨ea, hl1, hc', hk', eq⟩ := affineBack_sound hok rfl ex.2.1 hc hk h3'
    refine ⟨ea, hc', hk', V.le_of_eqv ?_⟩
    have hval : matmulEval ⟨xs, xd⟩ ⟨ws, wd⟩ = zipWithL (fun row b => dot xd row b)
        (columns nn (chunks nn kk bw.lo)) (List.replicate nn Q.zero) := by
      have hrl : (columns nn (chunks nn kk bw.lo)).length = nn :=
        hl1.trans (length_replicate' Q.zero nn)
      have hz := zipWithL_replicate (fun row b => dot xd row b) Q.zero (columns nn (chunks nn kk bw.lo))
      rw [hrl] at hz
      rw [hz]
      show matmulBlocks matmul2 xs xd ws wd = _
      rw [hWs', hsh, hXs', hW]
      exact matmul_row bx.shape g4.2 kk nn (nat_eq_of_beq_eq_true g3.2)
        xd bw.lo (hXl.trans (nat_eq_of_beq_eq_true g2.2)) (nat_eq_of_beq_eq_true g1.2)
    rw [hval]
    exact eq
  | [], h2 => exact (none_ne_some h2).elim
  | [_], h2 => exact (none_ne_some h2).elim
  | _ :: _ :: _ :: _, h2 => exact (none_ne_some h2).elim

/-- One operand: `allSome` of one lookup. -/
theorem allSome_one {pre : List Tensor} {a : Nat} {args : List Tensor}
    (h : allSome ([a].map (nth pre)) = some args) : ∃ x, nth pre a = some x ∧ args = [x] := by
  obtain ⟨x, ys, hx, hys, e⟩ := allSome_cons' h
  rw [allSome_nil' hys] at e
  exact ⟨x, hx, e⟩

/-- Two operands. -/
theorem allSome_two {pre : List Tensor} {a b : Nat} {args : List Tensor}
    (h : allSome ([a, b].map (nth pre)) = some args) :
    ∃ x y, nth pre a = some x ∧ nth pre b = some y ∧ args = [x, y] := by
  obtain ⟨x, ys, hx, hys, e⟩ := allSome_cons' h
  obtain ⟨y, hy, e'⟩ := allSome_one hys
  rw [e'] at e
  exact ⟨x, y, hx, hy, e⟩

/-- Three operands. -/
theorem allSome_three {pre : List Tensor} {a b d : Nat} {args : List Tensor}
    (h : allSome ([a, b, d].map (nth pre)) = some args) :
    ∃ x y z, nth pre a = some x ∧ nth pre b = some y ∧ nth pre d = some z ∧ args = [x, y, z] := by
  obtain ⟨x, ys, hx, hys, e⟩ := allSome_cons' h
  obtain ⟨y, z, hy, hz, e'⟩ := allSome_two hys
  rw [e'] at e
  exact ⟨x, y, z, hx, hy, hz, e⟩

/-- The table entry of a looked-up operand. -/
theorem look_get {tbl : List Bounds} {pre : List Tensor} (look : Look tbl pre) {i : Nat} {x : Tensor}
    (h : nth pre i = some x) : ∃ b, nth tbl i = some b ∧ Encloses b x := look i x h

/-- **One step back is sound**: through node `n`, whose value `t` was computed from the values
`pre`, the new linear function of the operand is at most the old one of `t`. -/
theorem backStep_sound (E : Enclosure) {preps : List Prep} {tbl : List Bounds} {pre : List Tensor} {rel : Option Relax}
    {n : Node} {c : List Q} {k : Q} {a : Nat} {c' : List Q} {k' : Q} {t : Tensor}
    (look : Look tbl pre) (hev : evalNode E pre n = some t) (hc : AllWF c) (hk : k.WF)
    (h : backStep preps tbl rel n c k = some (a, c', k')) :
    ∃ x, nth pre a = some x ∧ AllWF c' ∧ k'.WF ∧ V.le (lin c' k' x.data) (lin c k t.data) := by
  obtain ⟨args, o, data, ha, ho, hd, et⟩ := evalNode_some hev
  subst et
  cases n with
  | mk op nargs attrs shape =>
  cases op
  all_goals first
    | exact (none_ne_some h).elim
    | skip
  · -- add
    match nargs, h, ha with
    | [a0, p0], h, ha =>
      obtain ⟨X, P, hX, hP, eargs⟩ := allSome_two ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨bp, hbp, ep⟩ := look_get look hP
      obtain ⟨bp', hbp', h1⟩ := obind_some h
      rw [hbp] at hbp'
      cases some_inj hbp'
      cases hq : bp.exact with
      | true =>
        rw [hq] at h1
        obtain ⟨ea, r⟩ := sumBack_sound (flip := false) E hbx hbp ex ep hc hk ho hd h1
        exact ⟨X, ea ▸ hX, r⟩
      | false =>
        rw [hq] at h1
        obtain ⟨bx', hbx', h2⟩ := obind_some h1
        rw [hbp] at hbx'
        cases some_inj hbx'
        obtain ⟨bq, hbq, _⟩ := obind_some h2
        rw [hbx] at hbq
        cases some_inj hbq
        obtain ⟨ea, r⟩ := sumBack_sound (flip := true) E hbp hbx ep ex hc hk ho hd h1
        exact ⟨P, ea ▸ hP, r⟩
    | [], h, _ => exact (none_ne_some h).elim
    | [_], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- sub
    match nargs, h, ha with
    | [a0, p0], h, ha =>
      obtain ⟨X, P, hX, hP, eargs⟩ := allSome_two ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨bp, hbp, ep⟩ := look_get look hP
      obtain ⟨bp', hbp', h1⟩ := obind_some h
      rw [hbp] at hbp'
      cases some_inj hbp'
      cases hq : bp.exact with
      | true =>
        rw [hq] at h1
        obtain ⟨ea, r⟩ := sumBack_sound (flip := false) E hbx hbp ex ep hc hk ho hd h1
        exact ⟨X, ea ▸ hX, r⟩
      | false =>
        rw [hq] at h1
        obtain ⟨bx', hbx', h2⟩ := obind_some h1
        rw [hbp] at hbx'
        cases some_inj hbx'
        obtain ⟨bq, hbq, _⟩ := obind_some h2
        rw [hbx] at hbq
        cases some_inj hbq
        obtain ⟨ea, r⟩ := sumBack_sound (flip := true) E hbp hbx ep ex hc hk ho hd h1
        exact ⟨P, ea ▸ hP, r⟩
    | [], h, _ => exact (none_ne_some h).elim
    | [_], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- relu
    match nargs, h, ha with
    | [a0], h, ha =>
      obtain ⟨X, hX, eargs⟩ := allSome_one ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨r, _, h1⟩ := obind_some h
      obtain ⟨ea, hc', hk', le⟩ := reluBack_sound hbx ex.2.1 hc hk h1
      have e : evalOp E .relu attrs [X] o = some (X.data.map reluQ) := rfl
      rw [e] at hd
      cases some_inj hd
      exact ⟨X, ea ▸ hX, hc', hk', le⟩
    | [], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- linear
    match nargs, h, ha with
    | [a0, w0], h, ha =>
      obtain ⟨X, W, hX, hW, eargs⟩ := allSome_two ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨bw, hbw, ew⟩ := look_get look hW
      obtain ⟨bs, hbs, ea, hc', hk', h1, hl, eq⟩ := linearBack_sound hbx hbw ex ew hc hk h
      have e : evalOp E .linear attrs [X, W] o = some (linearEval X W none) := rfl
      rw [e] at hd
      cases some_inj hd
      rw [linearEval_row X W none h1 hl]
      have eb : bs = List.replicate (headD W.shape 0) Q.zero := (some_inj hbs).symm
      rw [eb] at eq
      exact ⟨X, ea ▸ hX, hc', hk', V.le_of_eqv eq⟩
    | [a0, w0, b0], h, ha =>
      obtain ⟨X, W, B, hX, hW, hB, eargs⟩ := allSome_three ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨bw, hbw, ew⟩ := look_get look hW
      obtain ⟨bb, hbb, eb⟩ := look_get look hB
      obtain ⟨bs, hbs, ea, hc', hk', h1, hl, eq⟩ := linearBack_sound hbx hbw ex ew hc hk h
      have e : evalOp E .linear attrs [X, W, B] o = some (linearEval X W (some B)) := rfl
      rw [e] at hd
      cases some_inj hd
      rw [linearEval_row X W (some B) h1 hl]
      obtain ⟨bb', hbb', h2⟩ := obind_some hbs
      rw [hbb] at hbb'
      cases some_inj hbb'
      obtain ⟨hex, hs⟩ := guard_some h2
      have ebs : B.data = bs := (eb.2.2 hex).trans (some_inj hs)
      show ∃ x, _ ∧ _ ∧ _ ∧ V.le _ (lin c k (zipWithL _ _ B.data))
      rw [ebs]
      exact ⟨X, ea ▸ hX, hc', hk', V.le_of_eqv eq⟩
    | [], h, _ => exact (none_ne_some h).elim
    | [_], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- matmul
    match nargs, h, ha with
    | [a0, w0], h, ha =>
      obtain ⟨X, W, hX, hW, eargs⟩ := allSome_two ha
      subst eargs
      obtain ⟨bx, hbx, ex⟩ := look_get look hX
      obtain ⟨bw, hbw, ew⟩ := look_get look hW
      obtain ⟨ea, hc', hk', le⟩ := matmulBack_sound hbx hbw ex ew hc hk h
      have e : evalOp E .matmul attrs [X, W] o = some (matmulEval X W) := rfl
      rw [e] at hd
      cases some_inj hd
      exact ⟨X, ea ▸ hX, hc', hk', le⟩
    | [], h, _ => exact (none_ne_some h).elim
    | [_], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- flatten
    match nargs, h, ha with
    | [a0], h, ha =>
      obtain ⟨X, hX, eargs⟩ := allSome_one ha
      subst eargs
      cases some_inj h
      have e : evalOp E .flatten attrs [X] o = some X.data := rfl
      rw [e] at hd
      cases some_inj hd
      exact ⟨X, hX, hc, hk, V.le_refl _⟩
    | [], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _, h, _ => exact (none_ne_some h).elim
  · -- reshape
    match nargs, h, ha with
    | [a0], h, ha =>
      obtain ⟨X, hX, eargs⟩ := allSome_one ha
      subst eargs
      cases some_inj h
      have e : evalOp E .reshape attrs [X] o = some X.data := rfl
      rw [e] at hd
      cases some_inj hd
      exact ⟨X, hX, hc, hk, V.le_refl _⟩
    | [], h, _ => exact (none_ne_some h).elim
    | _ :: _ :: _, h, _ => exact (none_ne_some h).elim

/-! ### Soundness: back-substitution, tightening, the walk -/

/-- The least value over stated bounds is a lower bound of the linear function. -/
theorem concretize_sound {b : Bounds} {t : Tensor} (e : Encloses b t) {c : List Q} {k : Q} (hc : AllWF c)
    (hk : k.WF) : (concretize b c k).WF ∧ V.le (concretize b c k).toV (lin c k t.data) := by
  have bt := dot_between (b := k) hc hk e.2.1
  have hx := Within.wf_x e.2.1
  have l1 : V.le (concretize b c k).toV (dot t.data c k).toV :=
    (Q.ble_iff bt.1 bt.2.1).mp bt.2.2.2.1
  have e1 : V.eqv (dot t.data c k).toV (lin c k t.data) :=
    V.eqv_trans (dot_eqv t.data c k hx hc hk) (V.add_congr (V.eqv_refl _) (vdot_comm t.data c))
      (nat_mul_pos hk (vdot_den_pos t.data c hx hc))
  exact ⟨bt.1, V.le_trans l1 (V.le_of_eqv e1) bt.2.1⟩

/-- **Back-substitution is sound**: its result is a lower bound of the linear function of the value
at index `j`, for every run whose values the table encloses. -/
theorem backLower_sound (E : Enclosure) {preps : List Prep} {tbl : List Bounds} {defs : List (Option Node)}
    {rels : List (Option Relax)} {env : List Tensor} (hr : All2 Encloses tbl env) (ran : Ran E defs env) :
    (fuel j : Nat) → (c : List Q) → (k : Q) → (β : Q) → AllWF c → k.WF →
    backLower preps tbl defs rels fuel j c k = some β → ∀ t, nth env j = some t →
    β.WF ∧ V.le β.toV (lin c k t.data)
  | 0, j, c, k, β, hc, hk, h, t, ht => by
    obtain ⟨b, hb, e⟩ := option_map_some h
    obtain ⟨b', hb', eb⟩ := All2.get' hr j t ht
    rw [hb] at hb'
    cases some_inj hb'
    rw [← e]
    exact concretize_sound eb hc hk
  | fuel + 1, j, c, k, β, hc, hk, h, t, ht => by
    obtain ⟨b, hb, h1⟩ := obind_some h
    obtain ⟨b', hb', eb⟩ := All2.get' hr j t ht
    rw [hb] at hb'
    cases some_inj hb'
    have conc : some (concretize b c k) = some β → β.WF ∧ V.le β.toV (lin c k t.data) := by
      intro e
      rw [← some_inj e]
      exact concretize_sound eb hc hk
    cases hn : nthD defs j none with
    | none =>
      rw [hn] at h1
      exact conc h1
    | some n =>
      rw [hn] at h1
      have h2 : (match backStep preps tbl (nthD rels j none) n c k with
          | some (a, c', k') => cond (Nat.ble (a + 1) j) (backLower preps tbl defs rels fuel a c' k')
              (some (concretize b c k))
          | none => some (concretize b c k)) = some β := h1
      cases hs : backStep preps tbl (nthD rels j none) n c k with
      | none =>
        rw [hs] at h2
        exact conc h2
      | some r =>
        obtain ⟨a, c', k'⟩ := r
        rw [hs] at h2
        have h1 : cond (Nat.ble (a + 1) j) (backLower preps tbl defs rels fuel a c' k')
            (some (concretize b c k)) = some β := h2
        cases hlt : Nat.ble (a + 1) j with
        | false =>
          rw [hlt] at h1
          exact conc h1
        | true =>
          rw [hlt] at h1
          have hev := ran j n t hn ht
          obtain ⟨x, hx, hc', hk', le⟩ := backStep_sound E (look_take hr j) hev hc hk hs
          have hx' := (nth_take_some env j a x hx).2
          obtain ⟨hβ, le'⟩ := backLower_sound E hr ran fuel a c' k' β hc' hk' h1 x hx'
          obtain ⟨bx, _, ex⟩ := All2.get' hr a x hx'
          exact ⟨hβ, V.le_trans le' le (lin_den hc' hk' (Within.wf_x ex.2.1))⟩

/-- Adding zero changes nothing. -/
theorem V.zero_add_eqv' (x : V) : V.eqv (V.add Q.zero.toV x) x := by
  unfold V.eqv V.add Q.zero Q.toV V.signed
  simp only [cond_false', nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul, nat_add_zero, nat_zero_add]
  try simp only [nat_mul_comm]

/-- One times `y` is `y`. -/
theorem V.one_mul_eqv' (y : V) : V.eqv (V.mul Q.one.toV y) y := by
  unfold V.eqv V.mul Q.one Q.toV V.signed
  simp only [cond_false', nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul, nat_add_zero, nat_zero_add]
  try simp only [nat_mul_comm]

/-- Minus one times `y` is `-y`. -/
theorem V.negOne_mul_eqv (y : V) : V.eqv (V.mul Q.negOne.toV y) (V.opp y) := by
  unfold V.eqv V.mul V.opp Q.negOne Q.toV V.signed
  simp only [cond_true', nat_zero_mul, nat_mul_zero, nat_mul_one, nat_one_mul, nat_add_zero, nat_zero_add]
  try simp only [nat_mul_comm]

/-- An element of a list of rationals (or the zero past its end) is a rational. -/
theorem nthD_wf' : {y : List Q} → AllWF y → (i : Nat) → (nthD y i Q.zero).WF
  | [], _, _ => Q.zero_wf
  | a :: _, h, 0 => h a (List.Mem.head _)
  | a :: as, h, i + 1 => nthD_wf' (y := as) (fun q hq => h q (List.Mem.tail a hq)) i

/-- The value of `0 + s v_e` picked by a unit row. -/
theorem lin_unit {s : Q} (hs : s.WF) {v : List Q} (hv : AllWF v) {e : Nat} (he : e < v.length) :
    V.eqv (lin (unitRow s e v.length) Q.zero v) (V.mul s.toV (nthD v e Q.zero).toV) :=
  V.eqv_trans (V.zero_add_eqv' _) (vdot_unitRow hs e v.length v hv he (nat_le_refl _))
    (vdot_den_pos _ _ (unitRow_wf hs e v.length) hv)

/-- The bounds of one element from back-substitution hold for the node's value. -/
theorem backBounds_sound (E : Enclosure) {preps : List Prep} {tbl : List Bounds} {defs : List (Option Node)}
    {rels : List (Option Relax)} {env : List Tensor} {n : Node} {t : Tensor}
    (hr : All2 Encloses tbl env) (ran : Ran E defs env) (hev : evalNode E env n = some t) (e : Nat)
    (he : e < t.data.length) (hx : AllWF t.data) :
    (∀ β, (backBounds preps tbl defs rels n t.data.length e).1 = some β → β.WF ∧ β ≤ nthD t.data e Q.zero) ∧
    (∀ β, (backBounds preps tbl defs rels n t.data.length e).2 = some β → β.WF ∧ nthD t.data e Q.zero ≤ β) := by
  have look : Look tbl env := fun i x h => All2.get' hr i x h
  have hxe : (nthD t.data e Q.zero).WF := nthD_wf' hx e
  have gen : ∀ (c : List Q) (β : Q), AllWF c →
      (match backStep preps tbl (nthD rels tbl.length none) n c Q.zero with
        | some (a, c', k') => cond (Nat.ble (a + 1) tbl.length) (backLower preps tbl defs rels tbl.length a c' k') none
        | none => none) = some β → β.WF ∧ V.le β.toV (lin c Q.zero t.data) := by
    intro c β hc h
    cases hs : backStep preps tbl (nthD rels tbl.length none) n c Q.zero with
    | none =>
      rw [hs] at h
      exact (none_ne_some h).elim
    | some r =>
      obtain ⟨a, c', k'⟩ := r
      rw [hs] at h
      have h' : cond (Nat.ble (a + 1) tbl.length) (backLower preps tbl defs rels tbl.length a c' k') none = some β := h
      cases hlt : Nat.ble (a + 1) tbl.length with
      | false =>
        rw [hlt] at h'
        exact (none_ne_some h').elim
      | true =>
        rw [hlt] at h'
        obtain ⟨x, hxa, hc', hk', le⟩ := backStep_sound E look hev hc Q.zero_wf hs
        obtain ⟨hβ, le'⟩ := backLower_sound E hr ran tbl.length a c' k' β hc' hk' h' x hxa
        obtain ⟨bx, _, ex⟩ := All2.get' hr a x hxa
        exact ⟨hβ, V.le_trans le' le (lin_den hc' hk' (Within.wf_x ex.2.1))⟩
  have one_wf : Q.one.WF := nat_succ_pos 0
  have neg_wf : Q.negOne.WF := nat_succ_pos 0
  refine ⟨?_, ?_⟩
  · intro β h
    obtain ⟨hβ, le⟩ := gen (unitRow Q.one e t.data.length) β (unitRow_wf one_wf e _) h
    refine ⟨hβ, (Q.ble_iff hβ hxe).mpr ?_⟩
    exact V.le_trans le (V.le_of_eqv (V.eqv_trans (lin_unit one_wf hx he) (V.one_mul_eqv' _)
      (nat_mul_pos one_wf hxe))) (lin_den (unitRow_wf one_wf e _) Q.zero_wf hx)
  · intro β h
    obtain ⟨β', h', e'⟩ := option_map_some h
    subst e'
    obtain ⟨hβ, le⟩ := gen (unitRow Q.negOne e t.data.length) β' (unitRow_wf neg_wf e _) h'
    refine ⟨Q.neg_wf hβ, (Q.ble_iff hxe (Q.neg_wf hβ)).mpr ?_⟩
    have l1 : V.le β'.toV (V.opp (nthD t.data e Q.zero).toV) :=
      V.le_trans le (V.le_of_eqv (V.eqv_trans (lin_unit neg_wf hx he) (V.negOne_mul_eqv _)
        (nat_mul_pos neg_wf hxe))) (lin_den (unitRow_wf neg_wf e _) Q.zero_wf hx)
    have l2 := V.neg_le_neg l1
    exact V.le_congr (V.eqv_refl _) (V.eqv_symm' (Q.neg_eqv β')) (V.le_trans (V.le_of_eqv (V.eqv_refl _)) l2 hxe) hxe hβ

/-- Tightening keeps every value enclosed whose elements meet the bounds given for them. -/
theorem tighten_sound {bnd : Nat → Option Q × Option Q} {rows : List Nat} :
    (e : Nat) → {lo xs hi : List Q} → Within lo xs hi →
    (∀ i, i < xs.length → (∀ β, (bnd (e + i)).1 = some β → β.WF ∧ β ≤ nthD xs i Q.zero) ∧
      (∀ β, (bnd (e + i)).2 = some β → β.WF ∧ nthD xs i Q.zero ≤ β)) →
    Within (tighten bnd rows e lo hi).1 xs (tighten bnd rows e lo hi).2
  | _, _, _, _, .nil, _ => Within.nil
  | e, l :: ls, x :: xs, h :: hs, .cons b w, H => by
    have H' : ∀ i, i < xs.length → (∀ β, (bnd ((e + 1) + i)).1 = some β → β.WF ∧ β ≤ nthD xs i Q.zero) ∧
        (∀ β, (bnd ((e + 1) + i)).2 = some β → β.WF ∧ nthD xs i Q.zero ≤ β) := by
      intro i hi
      rw [nat_succ_add]
      exact H (i + 1) (nat_succ_le_succ hi)
    have rest := tighten_sound (rows := rows) (e + 1) w H'
    have H0 := H 0 (nat_succ_pos _)
    show Within (_ :: (tighten bnd rows (e + 1) ls hs).1) (x :: xs) (_ :: (tighten bnd rows (e + 1) ls hs).2)
    refine Within.cons ?_ rest
    cases memNat e rows with
    | false => exact b
    | true =>
      show Between (((bnd e).1.map (Q.max l)).getD l) x (((bnd e).2.map (Q.min h)).getD h)
      have lo_ok : ∀ β, (bnd e).1 = some β → β.WF ∧ β ≤ x := H0.1
      have hi_ok : ∀ β, (bnd e).2 = some β → β.WF ∧ x ≤ β := H0.2
      obtain ⟨hl, hx, hh, le1, le2⟩ := b
      refine ⟨?_, hx, ?_, ?_, ?_⟩
      · cases hb : (bnd e).1 with
        | none => exact hl
        | some β => exact Q.max_wf hl (lo_ok β hb).1
      · cases hb : (bnd e).2 with
        | none => exact hh
        | some β => exact Q.min_wf hh (hi_ok β hb).1
      · cases hb : (bnd e).1 with
        | none => exact le1
        | some β => exact Q.max_le'' le1 (lo_ok β hb).2
      · cases hb : (bnd e).2 with
        | none => exact le2
        | some β => exact Q.le_min'' le2 (hi_ok β hb).2

/-- A node that checks evaluates, and its stated bounds enclose its value. -/
theorem stepNodeC_sound (E : Enclosure) {preps : List Prep} {tbl : List Bounds} {defs : List (Option Node)}
    {rels : List (Option Relax)} {env : List Tensor} {n : Node} {rows : List Nat} {st : List Q × List Q}
    {b : Bounds} (hr : All2 Encloses tbl env) (ran : Ran E defs env)
    (h : stepNodeC preps tbl defs rels n rows st = some b) :
    ∃ t, evalNode E env n = some t ∧ Encloses b t := by
  obtain ⟨args, ha, h1⟩ := obind_some h
  obtain ⟨o, ho, h2⟩ := obind_some h1
  obtain ⟨⟨lo, hi⟩, hiv, h3⟩ := obind_some h2
  obtain ⟨hc, hb⟩ := guard_some h3
  obtain ⟨targs, hta, rel⟩ := All2.lookup (fun _ _ e => e) hr (nth env)
    (fun i => (option_map_id (nth env i)).symm) n.args args ha
  obtain ⟨data, hd, wd⟩ := intervalOp_sound E n.op n.attrs rel hiv
  have c := and_true_split hc
  have c1 := and_true_split c.1
  have c2 := and_true_split c1.1
  have hev : evalNode E env n = some ⟨o, data⟩ := by
    unfold evalNode
    rw [hta]
    show obind (opShape n.op n.attrs (targs.map Tensor.shape)) _ = _
    rw [← All2.shapes rel, ho]
    show Option.map _ (evalOp E n.op n.attrs targs o) = _
    rw [hd]
    rfl
  have hlen : data.length = lo.length := Within.length_lo wd
  have tw : Within (tighten (backBounds preps tbl defs rels n lo.length) rows 0 lo hi).1 data
      (tighten (backBounds preps tbl defs rels n lo.length) rows 0 lo hi).2 := by
    refine tighten_sound 0 wd ?_
    intro i hi'
    rw [nat_zero_add]
    have r := backBounds_sound (preps := preps) (rels := rels) E hr ran hev i hi' (Within.wf_x wd)
    rw [show (⟨o, data⟩ : Tensor).data.length = lo.length from hlen] at r
    exact r
  refine ⟨⟨o, data⟩, hev, ?_⟩
  rw [← some_inj hb]
  exact ⟨rfl, within_of_allLe tw (allWFb_sound c2.1) (allWFb_sound c2.2) c1.2 c.2,
    fun e => (false_ne_true' e).elim⟩

/-- Nodes that check evaluate; the checked table encloses the values and records the run. -/
theorem checkNodesC_sound (E : Enclosure) {preps : List Prep} : (ns : List Node) → {tbl : List Bounds} →
    {defs : List (Option Node)} → {rels : List (Option Relax)} → {env : List Tensor} →
    {certs : List NodeCert} → {r : List Bounds × List (Option Node) × List (Option Relax)} →
    All2 Encloses tbl env → Ran E defs env → defs.length = env.length →
    checkNodesC preps tbl defs rels ns certs = some r →
    ∃ env', runNodes E env ns = some env' ∧ All2 Encloses r.1 env' ∧ Ran E r.2.1 env'
  | [], _, _, _, env, [], _, hr, ran, _, h => by
    cases some_inj h
    exact ⟨env, rfl, hr, ran⟩
  | [], _, _, _, _, _ :: _, _, _, _, _, h => (none_ne_some h).elim
  | _ :: _, _, _, _, _, [], _, _, _, _, h => (none_ne_some h).elim
  | n :: ns, tbl, defs, rels, env, nc :: ncs, _, hr, ran, hl, h => by
    have h' : (match stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
        | some b => checkNodesC preps (tbl ++ [b]) (defs ++ [some n]) (rels ++ [nc.relax]) ns ncs
        | none => none) = _ := h
    cases hs : stepNodeC preps tbl defs (rels ++ [nc.relax]) n nc.rows nc.bounds with
    | none =>
      rw [hs] at h'
      exact (none_ne_some h').elim
    | some b =>
      rw [hs] at h'
      obtain ⟨t, ht, et⟩ := stepNodeC_sound E hr ran hs
      have hl' : (defs ++ [some n]).length = (env ++ [t]).length := by
        rw [list_length_snoc, list_length_snoc, hl]
      obtain ⟨env', he, r', ran'⟩ := checkNodesC_sound E ns (All2.snoc et hr) (Ran.snoc ran hl ht) hl' h'
      refine ⟨env', ?_, r', ran'⟩
      unfold runNodes
      rw [ht]
      exact he

/-! ### Soundness: the claim -/

/-- A constraint refuted by the bounds or by back-substitution fails on every output that meets
both. -/
theorem refutedByC_sound {c : Constraint} {lo y hi : List Q} {low : Option Q} (w : Within lo y hi)
    (hlow : ∀ β, low = some β → AllWF c.coeffs → β.WF ∧ β ≤ dot y c.coeffs Q.zero)
    (h : c.refutedByC lo hi low = true) : ¬ c.Holds y := by
  cases or_true_split h with
  | inl h1 => exact refutedBy_sound w h1
  | inr h2 =>
    cases hl : low with
    | none =>
      rw [hl] at h2
      exact (false_ne_true' h2).elim
    | some β =>
      rw [hl] at h2
      have h3 := and_true_split h2
      have h4 := and_true_split h3.1
      have hb : c.bound.WF := nat_le_of_ble_eq_true h4.2
      obtain ⟨hβ, le⟩ := hlow β hl (allWFb_sound h4.1)
      have hd := dot_wf y c.coeffs Q.zero
      unfold Constraint.Holds
      cases hs : c.strict with
      | true =>
        have hm : Q.ble c.bound β = true := by
          have e := h3.2
          rw [hs] at e
          exact e
        have hle : Q.ble c.bound (dot y c.coeffs Q.zero) = true := Q.le_trans hb hβ hd hm le
        intro hlt
        have hl' : (!(Q.ble c.bound (dot y c.coeffs Q.zero))) = true := hlt
        rw [hle] at hl'
        exact false_ne_true' hl'
      | false =>
        have hm : Q.blt c.bound β = true := by
          have e := h3.2
          rw [hs] at e
          exact e
        have hlt := Q.lt_of_lt_of_le hb hβ hd hm le
        intro hle
        have hlt' : (!(Q.ble (dot y c.coeffs Q.zero) c.bound)) = true := hlt
        have hle' : Q.ble (dot y c.coeffs Q.zero) c.bound = true := hle
        rw [hle'] at hlt'
        exact false_ne_true' hlt'

/-- An element of the list `allSome` gives. -/
theorem allSome_nth {α β : Type} {f : α → Option β} : (l : List α) → (ys : List β) →
    allSome (l.map f) = some ys → (i : Nat) → (a : α) → nth l i = some a → (y : β) → f a = some y →
    nth ys i = some y
  | [], _, _, _, _, h, _, _ => (none_ne_some h).elim
  | x :: xs, ys, h, i, a, ha, y, hf => by
    obtain ⟨y0, ys', hx, hys', e⟩ := allSome_cons' (o := f x) (rest := xs.map f) h
    subst e
    cases i with
    | zero =>
      cases some_inj ha
      rw [hf] at hx
      exact congrArg some (some_inj hx).symm
    | succ i => exact allSome_nth xs ys' hys' i a ha y hf

/-- The first parts of a zip with a long enough second list are the first list. -/
theorem zip_covers {α β : Type} : (as : List α) → (bs : List β) → as.length ≤ bs.length →
    ∀ a, a ∈ as → ∃ b, (a, b) ∈ zipWithL Prod.mk as bs
  | [], _, _, _, h => nomatch h
  | _ :: _, [], hl, _, _ => (nat_not_succ_le_zero _ hl).elim
  | x :: xs, y :: ys, hl, a, h => by
    cases h with
    | head => exact ⟨y, List.Mem.head _⟩
    | tail _ h' =>
      obtain ⟨b, hb⟩ := zip_covers xs ys (nat_le_of_succ_le_succ hl) a h'
      exact ⟨b, List.Mem.tail _ hb⟩

/-- A pair in a zip has its first part in the first list. -/
theorem mem_zip_fst {α β : Type} {a : α} {b : β} : (as : List α) → (bs : List β) →
    (a, b) ∈ zipWithL Prod.mk as bs → a ∈ as
  | [], _, h => nomatch h
  | _ :: _, [], h => nomatch h
  | x :: xs, _ :: ys, h => by
    cases h with
    | head => exact List.Mem.head _
    | tail _ h' => exact List.Mem.tail x (mem_zip_fst xs ys h')

/-- `l ++ replicate n d` is at least `n` long. -/
theorem le_length_append_replicate {α : Type} (d : α) : (l : List α) → (n : Nat) →
    n ≤ (l ++ List.replicate n d).length
  | [], n => by
    show n ≤ (List.replicate n d).length
    rw [length_replicate' d n]
    exact nat_le_refl n
  | _ :: xs, n => nat_le_trans (le_length_append_replicate d xs n) (nat_le_succ _)

/-- A property checked on an output's bounds and back-substitution holds for every output that
meets both. -/
theorem OutProp.checkC_sound {p : OutProp} {lo y hi : List Q} (w : Within lo y hi)
    {low : List Q → List (Option Relax) → Option Q} {rels : List (Option Relax)} {lines : ClaimLines}
    (hlow : ∀ c r β, low c r = some β → AllWF c → β.WF ∧ β ≤ dot y c Q.zero)
    (h : p.checkC lo hi low rels lines = true) : p.Holds y := by
  cases p with
  | box l u =>
    have h1 := and_true_split h
    have h2 := and_true_split h1.1
    have h3 := and_true_split h2.1
    exact within_inBox (within_of_allLe w (allWFb_sound h3.1) (allWFb_sound h3.2) h2.2 h1.2)
  | avoids terms =>
    intro t ht
    have hall := all_sound _ h
    obtain ⟨ls, hls⟩ := zip_covers terms (lines ++ List.replicate terms.length [])
      (le_length_append_replicate [] lines terms.length) t ht
    have hany := hall (t, ls) hls
    obtain ⟨cl, hcl, hr⟩ := any_sound _ hany
    obtain ⟨c, r⟩ := cl
    exact ⟨c, mem_zip_fst t _ hcl,
      refutedByC_sound w (fun β e hc => hlow c.coeffs (r.getD rels) β e hc) hr⟩

/-! ### The theorem -/

/-- What a CROWN certificate that checks proves, with the output's elements rationals. -/
theorem checkCROWN_sound_wf {preps : List Prep} (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out : Nat) (p : OutProp) (lines : ClaimLines) (h : checkCROWN preps g params box certs out p lines = true) :
    Safe g params box (fun ys => AllWF (nthD ys out []) ∧ p.Holds (nthD ys out [])) := by
  intro E _ xs hx
  have h1 := and_true_split h
  have h2 := and_true_split h1.1
  have h3 := and_true_split h2.1
  have h4 := and_true_split h3.1
  obtain ⟨hin, encIn⟩ := inputs_enclosed g.inputs hx h4.2 h4.1
  have encP := params_enclosed g.params params h2.2
  obtain ⟨r, hr, hc0⟩ := obind_some (isSomeTrue_sound h1.2)
  obtain ⟨outs, houts, hc1⟩ := obind_some hc0
  obtain ⟨j, hj, hc2⟩ := obind_some hc1
  obtain ⟨b, hb, hpb⟩ := option_map_some hc2
  have enc0 : All2 Encloses (initBounds g params box)
      (zipWithL Tensor.mk (g.inputs ++ g.params) (xs ++ params)) := by
    rw [zipWithL_append Tensor.mk g.inputs g.params xs params (sizesOk_length _ _ hin)]
    exact All2.append encIn encP
  have hl0 : (List.replicate (initBounds g params box).length (none : Option Node)).length =
      (zipWithL Tensor.mk (g.inputs ++ g.params) (xs ++ params)).length := by
    rw [length_replicate']
    exact All2.length enc0
  obtain ⟨env', hrun, rel, ran⟩ := checkNodesC_sound E g.nodes enc0 (Ran.init E _ _) hl0 hr
  obtain ⟨ys, hys, _⟩ := All2.lookup (S := fun b y => Within b.lo y b.hi) (f := Tensor.data)
    (fun _ _ e => e.2.1) rel (fun o => (nth env' o).map Tensor.data) (fun _ => rfl) g.outputs outs houts
  obtain ⟨t, ht, et⟩ := All2.get rel j b hb
  have hy : nth ys out = some t.data :=
    allSome_nth g.outputs ys hys out j hj t.data (by rw [ht]; rfl)
  have hx := Within.wf_x et.2.1
  have hlow : ∀ c rels β, backLower preps r.1 r.2.1 rels j j c Q.zero = some β → AllWF c →
      β.WF ∧ β ≤ dot t.data c Q.zero := by
    intro c rels β hbl hc
    obtain ⟨hβ, le⟩ := backLower_sound E rel ran j j c Q.zero β hc Q.zero_wf hbl t ht
    refine ⟨hβ, (Q.ble_iff hβ (dot_wf _ _ _)).mpr (V.le_trans le (V.le_of_eqv ?_) (lin_den hc Q.zero_wf hx))⟩
    exact V.eqv_symm' (V.eqv_trans (dot_eqv t.data c Q.zero hx hc Q.zero_wf)
      (V.add_congr (V.eqv_refl _) (vdot_comm t.data c)) (nat_mul_pos Q.zero_wf (vdot_den_pos _ _ hx hc)))
  refine ⟨ys, ?_, ?_⟩
  · unfold denote
    rw [hin, h3.2]
    show obind (runNodes E _ g.nodes) _ = _
    rw [hrun]
    exact hys
  · show AllWF ((nth ys out).getD []) ∧ p.Holds ((nth ys out).getD [])
    rw [hy]
    exact ⟨hx, OutProp.checkC_sound et.2.1 hlow hpb⟩

/-- **Soundness of the CROWN checker.** A certificate that checks proves, for every enclosure and
every input in the box, that the network has outputs and that output `out` has the property `p`. -/
theorem checkCROWN_sound {preps : List Prep} (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out : Nat) (p : OutProp) (lines : ClaimLines) (h : checkCROWN preps g params box certs out p lines = true) :
    Safe g params box (fun ys => p.Holds (nthD ys out [])) := by
  intro E hE xs hx
  obtain ⟨ys, hys, _, hp⟩ := checkCROWN_sound_wf g params box certs out p lines h E hE xs hx
  exact ⟨ys, hys, hp⟩

/-- **The robustness corollary, for CROWN certificates.** -/
theorem robust_of_checkCROWN {preps : List Prep} (g : Graph) (params : List (List Q)) (box : Box) (certs : List NodeCert)
    (out label n : Nat) (lines : ClaimLines) (hl : label < n)
    (h : checkCROWN preps g params box certs out (.avoids (robustnessTerms label n)) lines = true) :
    Safe g params box (fun ys => ArgmaxIs label n (nthD ys out [])) :=
  robust_of_safe hl (checkCROWN_sound_wf g params box certs out _ lines h)

end Pytorch2Lean
