/-
The interval certificate checker, and its soundness theorem.

A certificate (`pytorch2lean.cert.v1`) states lower and upper bounds for every node of the
graph. `checkIBP` recomputes each node's interval from the *stated* bounds of its operands (the
box for inputs, the exact values for parameters) with the op's interval rule, checks that the
stated bounds contain it, and finally that the output's stated bounds imply the property.
`checkIBP_sound` turns one kernel evaluation of `checkIBP ... = true` into
`Safe g params box (fun ys => p.Holds (nthD ys out []))`: for every enclosure and every input in
the box, the network has outputs and output `out` has the property.

The interval rules reuse the denotation's own list functions on the bounds, so each op's
soundness is a composition of the enclosure lemmas of `Within.lean`.
-/
import Pytorch2Lean.Spec
import Pytorch2Lean.Within

namespace Pytorch2Lean

/-- Stated bounds of one value of the graph: its shape, elementwise lower and upper ends, and
whether the value is a parameter known exactly (then `lo = hi` is the value itself). -/
structure Bounds where
  /-- The shape. -/
  shape : Shape
  /-- Lower ends, row-major. -/
  lo : List Q
  /-- Upper ends, row-major. -/
  hi : List Q
  /-- `true` for a parameter: `lo` is its exact value (ops read weights from it). -/
  exact : Bool

/-- The lower ends as a tensor of the value's shape. -/
def Bounds.loT (b : Bounds) : Tensor := ⟨b.shape, b.lo⟩

/-- The upper ends as a tensor of the value's shape. -/
def Bounds.hiT (b : Bounds) : Tensor := ⟨b.shape, b.hi⟩

/-- The bounds `b` hold for the tensor `t`: same shape, elements enclosed, and the exact value
when `b` says it is exact. -/
def Encloses (b : Bounds) (t : Tensor) : Prop :=
  t.shape = b.shape ∧ Within b.lo t.data b.hi ∧ (b.exact = true → t.data = b.lo)

/-! ### Interval rules -/

/-- `pick w l h` for each weight `w` and interval `[l, h]` (the shortest list decides). -/
def pickRow (pick : Q → Q → Q → Q) : List Q → List Q → List Q → List Q
  | w :: ws, l :: ls, h :: hs => pick w l h :: pickRow pick ws ls hs
  | _, _, _ => []

/-- For each row `[rl, rh]` of input bounds, the end of `dot r wr b` for every weight row `wr`
and bias `b`, each term taken at its end chosen by `pick` (`linearEval`'s loop on bounds). -/
def boundRows (pick : Q → Q → Q → Q) (ws : List (List Q)) (bs : List Q) :
    List (List Q) → List (List Q) → List Q
  | rl :: rls, rh :: rhs =>
    zipWithL (fun wr b => dot (pickRow pick wr rl rh) wr b) ws bs ++ boundRows pick ws bs rls rhs
  | _, _ => []

/-- The lower (`pickLo`) or upper (`pickHi`) ends of `linear` on bounds `x`, with the exact
weight and bias read from their bounds, as `linearEval` splits rows and weights. -/
def linearBounds (pick : Q → Q → Q → Q) (x w : Bounds) (bias : Option Bounds) : List Q :=
  let k := lastD w.shape
  let out := headD w.shape 0
  let n := prod x.shape / k
  let bs := match bias with
    | some b => b.lo
    | none => List.replicate out Q.zero
  boundRows pick (chunks k out w.lo) bs (chunks k n x.lo) (chunks k n x.hi)

/-- A rule for one-operand ops: `f` of the operand's bounds. -/
def unaryIv (f : Bounds → List Q × List Q) : List Bounds → Option (List Q × List Q)
  | [x] => some (f x)
  | _ => none

/-- A rule for two-operand ops: `f` of both operands' bounds. -/
def binaryIv (f : Bounds → Bounds → List Q × List Q) : List Bounds → Option (List Q × List Q)
  | [a, b] => some (f a b)
  | _ => none

/-- Bounds of `linear`; its weight and bias must be exact (parameters). -/
def linearIv : List Bounds → Option (List Q × List Q)
  | [x, w] => guard w.exact (some (linearBounds pickLo x w none, linearBounds pickHi x w none))
  | [x, w, b] => guard (w.exact && b.exact)
      (some (linearBounds pickLo x w (some b), linearBounds pickHi x w (some b)))
  | _ => none

/-- The least and greatest values of `dot r ws 0`, for exact weights `ws` and a row `r`
enclosed by the pairs `ps` of ends: each term at the end its weight's sign picks. -/
def dotIv (ws : List Q) (ps : List (Q × Q)) : Q × Q :=
  let l := ps.map (fun p => p.1)
  let h := ps.map (fun p => p.2)
  (dot (pickRow pickLo ws l h) ws Q.zero, dot (pickRow pickHi ws l h) ws Q.zero)

/-- Both running sums of `dotIv` in one pass; an input enclosed by ends of numerator zero (the
output of an inactive ReLU) is skipped without reading its weight: its products are zero, which
`Acc.addMul` skips anyway (`dotIvAcc_eq`). -/
def dotIvAcc : List Q → List (Q × Q) → Acc → Acc → Acc × Acc
  | w :: ws, p :: ps, lo, hi =>
    cond (Nat.beq p.1.num (nat_lit 0) && Nat.beq p.2.num (nat_lit 0)) (dotIvAcc ws ps lo hi)
      ((lo.addMul (pickLo w p.1 p.2) w).strict fun lo' =>
        (hi.addMul (pickHi w p.1 p.2) w).strict fun hi' => dotIvAcc ws ps lo' hi')
  | _, _, lo, hi => (lo, hi)

/-- `dotIv` as the checker evaluates it (`dotIvF_eq`: the same pair). -/
def dotIvF (ws : List Q) (ps : List (Q × Q)) : Q × Q :=
  match dotIvAcc ws ps (Acc.ofQ Q.zero) (Acc.ofQ Q.zero) with
  | (lo, hi) => (lo.toQ, hi.toQ)

/-- The least and greatest values of `dot r c 0` for rows `r` and `c` enclosed by pairs of ends:
the sums of each term's least and greatest corner products (`mulIv`). -/
def dotIv2 (r c : List (Q × Q)) : Q × Q :=
  let ps := zipWithL mulIv r c
  (sumQ (ps.map (fun p => p.1)), sumQ (ps.map (fun p => p.2)))

/-- The lower and the upper ends of a list of pairs of ends. -/
def unzipIv (ps : List (Q × Q)) : List Q × List Q := (ps.map (fun p => p.1), ps.map (fun p => p.2))

/-- Bounds of `matmul` with an exact operand (a parameter): the denotation's own structure
(`matmulBlocks`, `matmul2With`) run on the other operand's ends, paired, and the exact operand,
each entry bounded by `dotIv`. The right operand is tried first (`x @ W`), then the left (`W @ x`);
without an exact operand each term is bounded by its corner products (`dotIv2`). -/
def matmulPair (a b : Bounds) : Option (List Q × List Q) :=
    cond b.exact
      (some (unzipIv (matmulBlocks (matmul2With (fun r c => dotIvF c r)) a.shape
        (zipWithL Prod.mk a.lo a.hi) b.shape b.lo)))
      (cond a.exact (some (unzipIv (matmulBlocks (matmul2With (fun r c => dotIvF r c)) a.shape a.lo
        b.shape (zipWithL Prod.mk b.lo b.hi))))
        (some (unzipIv (matmulBlocks (matmul2With dotIv2) a.shape (zipWithL Prod.mk a.lo a.hi)
          b.shape (zipWithL Prod.mk b.lo b.hi)))))

/-- Bounds of `matmul` (`matmulPair` of its two operands). -/
def matmulIv : List Bounds → Option (List Q × List Q)
  | [a, b] => matmulPair a b
  | _ => none

/-- Bounds of `leaky_relu`: monotone when `alpha ≥ 0`; otherwise the least and greatest of its
values at the ends and at the kink clamped into the interval (`leakyHull`). -/
def leakyIv (attrs : Attrs) : List Bounds → Option (List Q × List Q)
  | [x] => withFloat attrs .alpha fun alpha =>
      cond (Q.ble Q.zero alpha) (some (x.lo.map (leakyReluQ alpha), x.hi.map (leakyReluQ alpha)))
        (some (unzipIv (zipWithL (leakyHull alpha) x.lo x.hi)))
  | _ => none

/-- A rule for one-operand ops monotone in every element: `f` (the op's own evaluation) of the
lower ends and of the upper ends. -/
def monoIv (f : Tensor → Option (List Q)) : List Bounds → Option (List Q × List Q)
  | [x] => obind (f x.loT) fun l => (f x.hiT).map fun h => (l, h)
  | _ => none

/-- One end of `conv2d` on bounds `x`, with the exact weights and bias read from their bounds:
`conv2dEval`'s sums over the taps of `conv2dIndex`, each input cell taken at the end of its
interval that `pick` chooses for the weight's sign. -/
def convBound (pick : Q → Q → Q → Q) (idx : List (List (Nat × Nat) × Nat)) (x w : Bounds)
    (bias : Option Bounds) : List Q :=
  let lv := Vec.ofList x.lo
  let hv := Vec.ofList x.hi
  let wv := Vec.ofList w.lo
  let bs := match bias with
    | some b => b.lo
    | none => []
  idx.map (fun out => sumProducts
    (out.1.map (fun p => (wv.get p.1, pick (wv.get p.1) (lv.get p.2) (hv.get p.2)))) (nthD bs out.2 Q.zero))

/-- Bounds of `conv2d`; its weight and bias must be exact (parameters). -/
def convIv (attrs : Attrs) : List Bounds → Option (List Q × List Q)
  | [x, w] => guard w.exact ((conv2dIndex attrs x.shape w.shape).map fun idx =>
      (convBound pickLo idx x w none, convBound pickHi idx x w none))
  | [x, w, b] => guard (w.exact && b.exact) ((conv2dIndex attrs x.shape w.shape).map fun idx =>
      (convBound pickLo idx x w (some b), convBound pickHi idx x w (some b)))
  | _ => none

/-- Bounds of `div` by an exact divisor (a parameter) without zeros, broadcast as `divEval`
does: each quotient's ends by `divIvPair` (they swap where the divisor is negative). -/
def divPair (a b : Bounds) (o : Shape) : Option (List Q × List Q) :=
  guard b.exact (
    let d := broadcastTo b.loT o
    guard (!(d.any Q.isZero)) (some (unzipIv (zipWithL divIvPair
      (zipWithL Prod.mk (broadcastTo a.loT o) (broadcastTo a.hiT o)) d))))

/-- Bounds of `div` (`divPair` of its two operands). -/
def divIv (o : Shape) : List Bounds → Option (List Q × List Q)
  | [a, b] => divPair a b o
  | _ => none

/-- The interval rule of `op` on operand bounds `args` with output shape `o`; `none` for ops
the Lean checker does not cover (the certificate is then refused). -/
def intervalOp : OpTag → Attrs → List Bounds → Shape → Option (List Q × List Q)
  | .add, _, args, o =>
    binaryIv (fun a b => (binaryEval Q.add a.loT b.loT o, binaryEval Q.add a.hiT b.hiT o)) args
  | .sub, _, args, o =>
    -- the lower end subtracts the second operand's upper end
    binaryIv (fun a b => (binaryEval Q.sub a.loT b.hiT o, binaryEval Q.sub a.hiT b.loT o)) args
  | .mul, _, args, o =>
    -- the least and greatest of the four products of the ends (`mulIv`), element by element
    binaryIv (fun a b => unzipIv (zipWithL mulIv
      (zipWithL Prod.mk (broadcastTo a.loT o) (broadcastTo a.hiT o))
      (zipWithL Prod.mk (broadcastTo b.loT o) (broadcastTo b.hiT o)))) args
  | .div, _, args, o => divIv o args
  | .leakyRelu, attrs, args, _ => leakyIv attrs args
  | .neg, _, args, _ => unaryIv (fun x => (x.hi.map Q.neg', x.lo.map Q.neg')) args
  | .relu, _, args, _ => unaryIv (fun x => (x.lo.map reluQ, x.hi.map reluQ)) args
  | .linear, _, args, _ => linearIv args
  | .matmul, _, args, _ => matmulIv args
  | .conv2d, attrs, args, _ => convIv attrs args
  | .transpose, attrs, args, o => monoIv (fun t => transposeEval attrs t o) args
  | .slice, attrs, args, _ => monoIv (sliceEval attrs) args
  | .pad, attrs, args, _ => monoIv (padEval attrs) args
  | .maxpool2d, attrs, args, _ => monoIv (poolEval false attrs) args
  | .avgpool2d, attrs, args, _ => monoIv (poolEval true attrs) args
  | .concat, attrs, args, _ =>
    obind (concatEval attrs (args.map Bounds.loT)) fun l =>
      (concatEval attrs (args.map Bounds.hiT)).map fun h => (l, h)
  | .flatten, _, args, _ => unaryIv (fun x => (x.lo, x.hi)) args
  | .reshape, _, args, _ => unaryIv (fun x => (x.lo, x.hi)) args
  | _, _, _, _ => none

/-! ### The checker -/

/-- `true` when every element has a positive denominator. -/
def allWFb (l : List Q) : Bool := l.all (fun q => Nat.ble 1 q.den)

/-- `a_i ≤ b_i` for every `i`, the lists of one length. -/
def allLe : List Q → List Q → Bool
  | a :: as, b :: bs => Q.ble a b && allLe as bs
  | [], [] => true
  | _, _ => false

/-- Check node `n` against its stated bounds `st` (lower, upper), given the bounds `tbl` of the
earlier values: the op's interval from the operands' bounds must lie within `st`. -/
def stepNode (tbl : List Bounds) (n : Node) (st : List Q × List Q) : Option Bounds :=
  obind (allSome (n.args.map (nth tbl))) fun args =>
  obind (opShape n.op n.attrs (args.map Bounds.shape)) fun o =>
  obind (intervalOp n.op n.attrs args o) fun iv =>
  guard (allWFb st.1 && allWFb st.2 && allLe st.1 iv.1 && allLe iv.2 st.2)
    (some ⟨o, st.1, st.2, false⟩)

/-- Check every node in order, each against its stated bounds; the bounds of all values. -/
def checkNodes : List Bounds → List Node → List (List Q × List Q) → Option (List Bounds)
  | tbl, [], [] => some tbl
  | tbl, n :: ns, st :: sts =>
    match stepNode tbl n st with
    | some b => checkNodes (tbl ++ [b]) ns sts
    | none => none
  | _, _, _ => none

/-- The bounds of the inputs (the box) and of the parameters (their exact values). -/
def initBounds (g : Graph) (params : List (List Q)) (box : Box) : List Bounds :=
  zipWithL (fun s (b : List Q × List Q) => Bounds.mk s b.1 b.2 false) g.inputs box ++
    zipWithL (fun s p => Bounds.mk s p p true) g.params params

/-- `true` when `y ∈ [lo, hi]` violates the constraint for sure: the least value of
`Σ y_i * c_i` over the box exceeds the bound (or reaches it, for a strict constraint). -/
def Constraint.refutedBy (c : Constraint) (lo hi : List Q) : Bool :=
  allWFb c.coeffs && Nat.ble 1 c.bound.den &&
    cond c.strict (Q.ble c.bound (dot (pickRow pickLo c.coeffs lo hi) c.coeffs Q.zero))
      (Q.blt c.bound (dot (pickRow pickLo c.coeffs lo hi) c.coeffs Q.zero))

/-- `true` when every `y ∈ [lo, hi]` has the property. -/
def OutProp.check (p : OutProp) (lo hi : List Q) : Bool :=
  match p with
  | .box l h => allWFb l && allWFb h && allLe l lo && allLe hi h
  | .avoids terms => terms.all (fun t => t.any (fun c => c.refutedBy lo hi))

/-- `some true` only. -/
def isSomeTrue : Option Bool → Bool
  | some true => true
  | _ => false

/-- The certificate's verdict after the nodes check: output `out`'s bounds imply `p`. -/
def checkOutput (g : Graph) (params : List (List Q)) (box : Box) (stated : List (List Q × List Q))
    (out : Nat) (p : OutProp) : Option Bool :=
  obind (checkNodes (initBounds g params box) g.nodes stated) fun tbl =>
  obind (allSome (g.outputs.map (nth tbl))) fun outs =>
  (nth outs out).map (fun b => p.check b.lo b.hi)

/-- The interval certificate checker: the box and parameters fit the graph, every node's
stated bounds contain its interval, and output `out`'s bounds imply `p`. -/
def checkIBP (g : Graph) (params : List (List Q)) (box : Box) (stated : List (List Q × List Q))
    (out : Nat) (p : OutProp) : Bool :=
  sizesOk g.inputs (box.map (fun b => b.1)) && box.all (fun b => allWFb b.1 && allWFb b.2) &&
    sizesOk g.params params && params.all allWFb &&
    isSomeTrue (checkOutput g params box stated out p)

/-! ### Soundness: small facts -/

/-- `none` is not `some`. -/
theorem none_ne_some {α : Type} {a : α} (h : (none : Option α) = some a) : False :=
  Option.noConfusion rfl (heq_of_eq h)

/-- `false` is not `true`. -/
theorem false_ne_true' (h : false = true) : False := Bool.noConfusion h

/-- `some` is injective. -/
theorem some_inj {α : Type} {a b : α} (h : some a = some b) : a = b := by
  injection h

/-- A successful `Option.map`. -/
theorem option_map_some' {α β : Type} {f : α → β} : {o : Option α} → {b : β} → o.map f = some b →
    ∃ a, o = some a ∧ f a = b
  | some a, _, h => ⟨a, rfl, some_inj h⟩
  | none, _, h => (none_ne_some h).elim

/-- The elements of `a` that `b` pairs with. -/
def zipFst : List Q → List Q → List Q
  | a :: as, _ :: bs => a :: zipFst as bs
  | _, _ => []

/-- `zipFst` of anything against the empty list is empty. -/
theorem zipFst_nil (a : List Q) : zipFst a [] = [] := by cases a <;> rfl

/-- A dot product reads only the paired elements. -/
theorem dotAcc_trunc : (a b : List Q) → (acc : Acc) →
    dotAcc a b acc = dotAcc (zipFst a b) (zipFst b a) acc
  | [], b, acc => by cases b <;> rfl
  | _ :: _, [], _ => rfl
  | x :: xs, y :: ys, acc => by
    show (acc.addMul x y).strict (dotAcc xs ys) = (acc.addMul x y).strict (dotAcc (zipFst xs ys) (zipFst ys xs))
    rw [Acc.strict_eq, Acc.strict_eq]
    exact dotAcc_trunc xs ys _

/-- A dot product reads only the paired elements. -/
theorem dot_trunc (a b : List Q) (init : Q) : dot a b init = dot (zipFst a b) (zipFst b a) init := by
  unfold dot
  rw [dotAcc_trunc]

/-- The terms `pick_i * w_i` against `x_i * w_i`, paired as `dot` pairs them. -/
theorem terms_pickLo : (ws : List Q) → {rl r rh : List Q} → AllWF ws → Within rl r rh →
    TermsLe (zipFst (pickRow pickLo ws rl rh) ws) (zipFst ws (pickRow pickLo ws rl rh))
      (zipFst r ws) (zipFst ws r)
  | [], _, r, _, _, _ => by rw [zipFst_nil, zipFst_nil]; cases r <;> exact TermsLe.nil
  | _ :: _, _, _, _, _, .nil => TermsLe.nil
  | w :: ws, l :: _, _ :: _, h :: _, hw, .cons e rest => by
    have hw' : AllWF ws := fun q hq => hw q (List.Mem.tail w hq)
    have w0 : w.WF := hw w (List.Mem.head ws)
    have p0 : (pickLo w l h).WF := by unfold pickLo; cases Q.ble Q.zero w; exact e.2.2.1; exact e.1
    exact TermsLe.cons p0 w0 e.2.1 w0 (mul_pickLo_le w0 e.1 e.2.1 e.2.2.1 e.2.2.2.1 e.2.2.2.2)
      (terms_pickLo ws hw' rest)

/-- The terms `x_i * w_i` against `pick_i * w_i` at the upper ends. -/
theorem terms_pickHi : (ws : List Q) → {rl r rh : List Q} → AllWF ws → Within rl r rh →
    TermsLe (zipFst r ws) (zipFst ws r)
      (zipFst (pickRow pickHi ws rl rh) ws) (zipFst ws (pickRow pickHi ws rl rh))
  | [], _, r, _, _, _ => by rw [zipFst_nil, zipFst_nil]; cases r <;> exact TermsLe.nil
  | _ :: _, _, _, _, _, .nil => TermsLe.nil
  | w :: ws, l :: _, _ :: _, h :: _, hw, .cons e rest => by
    have hw' : AllWF ws := fun q hq => hw q (List.Mem.tail w hq)
    have w0 : w.WF := hw w (List.Mem.head ws)
    have p0 : (pickHi w l h).WF := by unfold pickHi; cases Q.ble Q.zero w; exact e.1; exact e.2.2.1
    exact TermsLe.cons e.2.1 w0 p0 w0 (mul_le_pickHi w0 e.1 e.2.1 e.2.2.1 e.2.2.2.1 e.2.2.2.2)
      (terms_pickHi ws hw' rest)

/-- One output of `linear` (or one constraint's value) is enclosed by the dot products of the
weights with the minimising and maximising ends. -/
theorem dot_between {ws rl r rh : List Q} {b : Q} (hw : AllWF ws) (hb : b.WF) (w : Within rl r rh) :
    Between (dot (pickRow pickLo ws rl rh) ws b) (dot r ws b) (dot (pickRow pickHi ws rl rh) ws b) := by
  refine ⟨dot_wf _ _ _, dot_wf _ _ _, dot_wf _ _ _, ?_, ?_⟩
  · rw [dot_trunc (pickRow pickLo ws rl rh), dot_trunc r]
    exact dot_le_dot hb hb (terms_pickLo ws hw w) (Q.le_refl b)
  · rw [dot_trunc (pickRow pickHi ws rl rh), dot_trunc r]
    exact dot_le_dot hb hb (terms_pickHi ws hw w) (Q.le_refl b)

/-- Every element of a block of a list is an element of the list. -/
theorem mem_take {a : Q} : (k : Nat) → (l : List Q) → a ∈ l.take k → a ∈ l
  | 0, _, h => nomatch h
  | _ + 1, [], h => nomatch h
  | k + 1, b :: bs, h => by
    cases h with
    | head => exact List.Mem.head bs
    | tail _ h' => exact List.Mem.tail b (mem_take k bs h')

/-- Every element of a suffix of a list is an element of the list. -/
theorem mem_drop {a : Q} : (k : Nat) → (l : List Q) → a ∈ l.drop k → a ∈ l
  | 0, _, h => h
  | _ + 1, [], h => nomatch h
  | k + 1, b :: bs, h => List.Mem.tail b (mem_drop k bs h)

/-- Every block of a list of rationals with positive denominators has them too. -/
theorem chunks_wf (k : Nat) : (n : Nat) → (l : List Q) → AllWF l → ∀ r, r ∈ chunks k n l → AllWF r
  | 0, _, _, _, h => nomatch h
  | n + 1, l, hl, r, h => by
    cases h with
    | head => exact fun q hq => hl q (mem_take k l hq)
    | tail _ h' => exact chunks_wf k n (l.drop k) (fun q hq => hl q (mem_drop k l hq)) r h'

/-- One row of `linear`: each weight row and bias gives an enclosed output. -/
theorem row_within {rl r rh : List Q} (w : Within rl r rh) : (ws : List (List Q)) → (bs : List Q) →
    (∀ wr, wr ∈ ws → AllWF wr) → AllWF bs →
    Within (zipWithL (fun wr b => dot (pickRow pickLo wr rl rh) wr b) ws bs)
      (zipWithL (fun wr b => dot r wr b) ws bs)
      (zipWithL (fun wr b => dot (pickRow pickHi wr rl rh) wr b) ws bs)
  | [], _, _, _ => Within.nil
  | _ :: _, [], _, _ => Within.nil
  | wr :: ws, b :: bs, hw, hb => Within.cons
      (dot_between (hw wr (List.Mem.head ws)) (hb b (List.Mem.head bs)) w)
      (row_within w ws bs (fun q hq => hw q (List.Mem.tail wr hq)) (fun q hq => hb q (List.Mem.tail b hq)))

/-- All rows of `linear`. -/
theorem rows_within {ws : List (List Q)} {bs : List Q} (hw : ∀ wr, wr ∈ ws → AllWF wr)
    (hb : AllWF bs) : {rls rs rhs : List (List Q)} → Within2 rls rs rhs →
    Within (boundRows pickLo ws bs rls rhs)
      (concatMap (fun r => zipWithL (fun wr b => dot r wr b) ws bs) rs)
      (boundRows pickHi ws bs rls rhs)
  | _, _, _, .nil => Within.nil
  | _, _, _, .cons w rest => Within.append (row_within w ws bs hw hb) (rows_within hw hb rest)

/-- Zeros have positive denominators. -/
theorem replicate_zero_wf : (n : Nat) → AllWF (List.replicate n Q.zero)
  | 0 => fun _ h => nomatch h
  | n + 1 => fun q h => by
    cases h with
    | head => exact Q.zero_wf
    | tail _ h' => exact replicate_zero_wf n q h'

/-! ### Soundness of each interval rule -/

/-- A one-operand rule that succeeded had one operand. -/
theorem unaryIv_sound {f : Bounds → List Q × List Q} {bs : List Bounds} {ts : List Tensor}
    {iv : List Q × List Q} (hr : All2 Encloses bs ts) (h : unaryIv f bs = some iv) :
    ∃ x t, ts = [t] ∧ Encloses x t ∧ f x = iv := by
  match bs, ts, hr, h with
  | [x], [t], .cons e .nil, h => exact ⟨x, t, rfl, e, some_inj h⟩
  | [], _, .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _, _, .cons _ (.cons _ _), h => exact (none_ne_some h).elim

/-- A two-operand rule that succeeded had two operands. -/
theorem binaryIv_sound {f : Bounds → Bounds → List Q × List Q} {bs : List Bounds}
    {ts : List Tensor} {iv : List Q × List Q} (hr : All2 Encloses bs ts) (h : binaryIv f bs = some iv) :
    ∃ a b ta tb, ts = [ta, tb] ∧ Encloses a ta ∧ Encloses b tb ∧ f a b = iv := by
  match bs, ts, hr, h with
  | [a, b], [ta, tb], .cons ea (.cons eb .nil), h => exact ⟨a, b, ta, tb, rfl, ea, eb, some_inj h⟩
  | [], _, .nil, h => exact (none_ne_some h).elim
  | [_], _, .cons _ .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _ :: _, _, .cons _ (.cons _ (.cons _ _)), h => exact (none_ne_some h).elim

/-- `linear`'s rule encloses `linearEval`, for any rows, weights and biases. -/
theorem linear_core {xl xd xh wl bs : List Q} (wx : Within xl xd xh) (hw : AllWF wl) (hb : AllWF bs)
    (k out n : Nat) :
    Within (boundRows pickLo (chunks k out wl) bs (chunks k n xl) (chunks k n xh))
      (concatMap (fun r => zipWithL (fun wr b => dot r wr b) (chunks k out wl) bs) (chunks k n xd))
      (boundRows pickHi (chunks k out wl) bs (chunks k n xl) (chunks k n xh)) :=
  rows_within (chunks_wf k out wl hw) hb (Within.blocks k n wx)

/-- `linear`, with its exact weight and bias. -/
theorem linearIv_sound (attrs : Attrs) {bs : List Bounds} {ts : List Tensor} {o : Shape}
    {lo hi : List Q} (hr : All2 Encloses bs ts) (h : linearIv bs = some (lo, hi)) :
    ∃ data, evalExact .linear attrs ts o = some data ∧ Within lo data hi := by
  match bs, ts, hr, h with
  | [x, w], [⟨sx, dx⟩, ⟨sw, dw⟩], .cons ex (.cons ew .nil), h =>
    obtain ⟨hg, h'⟩ := guard_some h
    have h'' := some_inj h'
    injection h'' with hl hh
    subst hl hh
    obtain ⟨esx, wx, _⟩ := ex
    obtain ⟨esw, ww, xw⟩ := ew
    have dweq : dw = w.lo := xw hg
    subst esx esw dweq
    exact ⟨_, rfl, linear_core wx (Within.wf_lo ww) (replicate_zero_wf _) _ _ _⟩
  | [x, w, b], [⟨sx, dx⟩, ⟨sw, dw⟩, ⟨sb, db⟩], .cons ex (.cons ew (.cons eb .nil)), h =>
    obtain ⟨hg, h'⟩ := guard_some h
    have hg2 := and_true_split hg
    have h'' := some_inj h'
    injection h'' with hl hh
    subst hl hh
    obtain ⟨esx, wx, _⟩ := ex
    obtain ⟨esw, ww, xw⟩ := ew
    obtain ⟨_, wb, xb⟩ := eb
    have dweq : dw = w.lo := xw hg2.1
    have dbeq : db = b.lo := xb hg2.2
    subst esx esw dweq dbeq
    exact ⟨_, rfl, linear_core wx (Within.wf_lo ww) (Within.wf_lo wb) _ _ _⟩
  | [], _, .nil, h => exact (none_ne_some h).elim
  | [_], _, .cons _ .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _ :: _ :: _, _, .cons _ (.cons _ (.cons _ (.cons _ _))), h =>
    exact (none_ne_some h).elim

/-- `Acc.addMul` does not depend on the order of the factors. -/
theorem Acc.addMul_comm (acc : Acc) (a b : Q) : acc.addMul a b = acc.addMul b a := by
  unfold Acc.addMul
  have e1 : Nat.mul a.num b.num = Nat.mul b.num a.num := nat_mul_comm _ _
  have e2 : Nat.mul a.den b.den = Nat.mul b.den a.den := nat_mul_comm _ _
  rw [e1, e2]
  cases Nat.beq a.num (nat_lit 0) <;> cases Nat.beq b.num (nat_lit 0) <;> cases a.neg <;> cases b.neg <;> rfl

/-- A running dot product does not depend on the order of its two lists. -/
theorem dotAcc_comm : (a b : List Q) → (acc : Acc) → dotAcc a b acc = dotAcc b a acc
  | [], [], _ => rfl
  | [], _ :: _, _ => rfl
  | _ :: _, [], _ => rfl
  | x :: xs, y :: ys, acc => by
    show (acc.addMul x y).strict (dotAcc xs ys) = (acc.addMul y x).strict (dotAcc ys xs)
    rw [Acc.strict_eq, Acc.strict_eq, Acc.addMul_comm acc x y, dotAcc_comm xs ys]

/-- `dot` does not depend on the order of its two lists. -/
theorem dot_comm (a b : List Q) (init : Q) : dot a b init = dot b a init := by
  unfold dot
  rw [dotAcc_comm]

/-- `dotIv` encloses the dot product of an enclosed row with the exact weights. -/
theorem dotIv_between {ws ws' : List Q} {ps : List (Q × Q)} {r : List Q} (hw : All2 SameWF ws ws')
    (hp : All2 BetweenP ps r) : BetweenP (dotIv ws ps) (dot r ws' Q.zero) := by
  obtain ⟨e, w⟩ := all2_of_sameWF hw
  subst e
  exact dot_between w Q.zero_wf (all2_within hp)

/-- A product with a factor of numerator zero adds nothing, not even a new denominator. -/
theorem Acc.addMul_num_zero (acc : Acc) {x : Q} (w : Q) (h : x.num = 0) : acc.addMul x w = acc := by
  unfold Acc.addMul
  rw [h]
  rfl

/-- The end `pickLo` takes of ends of numerator zero has numerator zero. -/
theorem pickLo_num_zero (w : Q) {l h : Q} (hl : l.num = 0) (hh : h.num = 0) : (pickLo w l h).num = 0 := by
  unfold pickLo
  cases Q.ble Q.zero w
  · exact hh
  · exact hl

/-- The end `pickHi` takes of ends of numerator zero has numerator zero. -/
theorem pickHi_num_zero (w : Q) {l h : Q} (hl : l.num = 0) (hh : h.num = 0) : (pickHi w l h).num = 0 := by
  unfold pickHi
  cases Q.ble Q.zero w
  · exact hl
  · exact hh

/-- The one-pass running sums are `dotIv`'s two running sums. -/
theorem dotIvAcc_eq : (ws : List Q) → (ps : List (Q × Q)) → (lo hi : Acc) →
    dotIvAcc ws ps lo hi =
      (dotAcc (pickRow pickLo ws (ps.map (fun p => p.1)) (ps.map (fun p => p.2))) ws lo,
       dotAcc (pickRow pickHi ws (ps.map (fun p => p.1)) (ps.map (fun p => p.2))) ws hi)
  | [], [], _, _ => rfl
  | [], _ :: _, _, _ => rfl
  | _ :: _, [], _, _ => rfl
  | w :: ws, p :: ps, lo, hi => by
    show cond (Nat.beq p.1.num (nat_lit 0) && Nat.beq p.2.num (nat_lit 0)) (dotIvAcc ws ps lo hi)
      ((lo.addMul (pickLo w p.1 p.2) w).strict fun lo' =>
        (hi.addMul (pickHi w p.1 p.2) w).strict fun hi' => dotIvAcc ws ps lo' hi') =
      ((lo.addMul (pickLo w p.1 p.2) w).strict
          (dotAcc (pickRow pickLo ws (ps.map (fun p => p.1)) (ps.map (fun p => p.2))) ws),
       (hi.addMul (pickHi w p.1 p.2) w).strict
          (dotAcc (pickRow pickHi ws (ps.map (fun p => p.1)) (ps.map (fun p => p.2))) ws))
    rw [Acc.strict_eq, Acc.strict_eq, Acc.strict_eq, Acc.strict_eq]
    cases hz : (Nat.beq p.1.num (nat_lit 0) && Nat.beq p.2.num (nat_lit 0)) with
    | false => exact dotIvAcc_eq ws ps _ _
    | true =>
      have a := and_true_split hz
      have h1 : p.1.num = 0 := nat_eq_of_beq_eq_true a.1
      have h2 : p.2.num = 0 := nat_eq_of_beq_eq_true a.2
      rw [Acc.addMul_num_zero lo w (pickLo_num_zero w h1 h2),
        Acc.addMul_num_zero hi w (pickHi_num_zero w h1 h2)]
      exact dotIvAcc_eq ws ps lo hi

/-- `dotIvF` is `dotIv`. -/
theorem dotIvF_eq (ws : List Q) (ps : List (Q × Q)) : dotIvF ws ps = dotIv ws ps := by
  unfold dotIvF
  rw [dotIvAcc_eq]
  rfl

/-- `dotIvF` encloses the dot product of an enclosed row with the exact weights. -/
theorem dotIvF_between {ws ws' : List Q} {ps : List (Q × Q)} {r : List Q} (hw : All2 SameWF ws ws')
    (hp : All2 BetweenP ps r) : BetweenP (dotIvF ws ps) (dot r ws' Q.zero) := by
  rw [dotIvF_eq]
  exact dotIv_between hw hp

/-- Points enclosed by pairs lie within the ends `unzipIv` takes apart. -/
theorem within_unzipIv {ps : List (Q × Q)} {x lo hi : List Q} (w : All2 BetweenP ps x)
    (h : unzipIv ps = (lo, hi)) : Within lo x hi := by
  have e1 : ps.map (fun p => p.1) = lo := congrArg (fun q => q.1) h
  have e2 : ps.map (fun p => p.2) = hi := congrArg (fun q => q.2) h
  rw [← e1, ← e2]
  exact all2_within w

/-- The corner products of enclosed rows bound the terms of their dot product. -/
theorem termsIn_corners : {r : List (Q × Q)} → {x : List Q} → {c : List (Q × Q)} → {y : List Q} →
    All2 BetweenP r x → All2 BetweenP c y →
    TermsIn ((zipWithL mulIv r c).map (fun p => p.1)) (zipFst x y) (zipFst y x)
      ((zipWithL mulIv r c).map (fun p => p.2))
  | _, _, _, _, .nil, .nil => TermsIn.nil
  | _, _, _, _, .nil, .cons _ _ => TermsIn.nil
  | _, _ :: _, _, _, .cons _ _, .nil => TermsIn.nil
  | _, _, _, _, .cons e r, .cons e' r' => by
    have m := mulIv_between e e'
    exact TermsIn.cons m.1 e.2.1 e'.2.1 m.2.2.1 m.2.2.2.1 m.2.2.2.2 (termsIn_corners r r')

/-- `dotIv2` encloses the dot product of enclosed rows. -/
theorem dotIv2_between {r c : List (Q × Q)} {x y : List Q} (hr : All2 BetweenP r x)
    (hc : All2 BetweenP c y) : BetweenP (dotIv2 r c) (dot x y Q.zero) := by
  rw [dot_trunc]
  exact sumQ_dot_between (termsIn_corners hr hc)

/-- `matmul` with an exact operand, or with two enclosed ones. -/
theorem matmulIv_sound (attrs : Attrs) {bs : List Bounds} {ts : List Tensor} {o : Shape}
    {lo hi : List Q} (hr : All2 Encloses bs ts) (h : matmulIv bs = some (lo, hi)) :
    ∃ data, evalExact .matmul attrs ts o = some data ∧ Within lo data hi := by
  match bs, ts, hr, h with
  | [a, b], [⟨sa, da⟩, ⟨sb, db⟩], .cons ea (.cons eb .nil), h =>
    obtain ⟨esa, wa, xa⟩ := ea
    obtain ⟨esb, wb, xb⟩ := eb
    subst esa esb
    refine ⟨_, rfl, ?_⟩
    have h : matmulPair a b = some (lo, hi) := h
    unfold matmulPair at h
    cases hbx : b.exact with
    | true =>
      rw [hbx] at h
      have dbeq : db = b.lo := xb hbx
      subst dbeq
      exact within_unzipIv (all2_matmulBlocks (RA := BetweenP) (RB := SameWF) (RC := BetweenP)
        (pair := matmul2With (fun r c => dotIvF c r)) (pair' := matmul2)
        (fun _ _ _ _ k n m hA hB => all2_matmul2With (fun _ _ _ _ hr hc => dotIvF_between hc hr) hA hB k n m)
        a.shape b.shape (Within.pairs wa) (all2_sameWF b.lo (Within.wf_lo wb))) (some_inj h)
    | false =>
      rw [hbx] at h
      cases hax : a.exact with
      | false =>
        rw [hax] at h
        exact within_unzipIv (all2_matmulBlocks (RA := BetweenP) (RB := BetweenP) (RC := BetweenP)
          (pair := matmul2With dotIv2) (pair' := matmul2)
          (fun _ _ _ _ k n m hA hB => all2_matmul2With (fun _ _ _ _ hr hc => dotIv2_between hr hc) hA hB k n m)
          a.shape b.shape (Within.pairs wa) (Within.pairs wb)) (some_inj h)
      | true =>
      rw [hax] at h
      have h' := h
      have daeq : da = a.lo := xa hax
      subst daeq
      exact within_unzipIv (all2_matmulBlocks (RA := SameWF) (RB := BetweenP) (RC := BetweenP)
        (pair := matmul2With (fun r c => dotIvF r c)) (pair' := matmul2)
        (fun _ _ _ _ k n m hA hB => all2_matmul2With
          (fun _ r' _ c' hr hc => by rw [dot_comm r' c']; exact dotIvF_between hr hc) hA hB k n m)
        a.shape b.shape (all2_sameWF a.lo (Within.wf_lo wa)) (Within.pairs wb)) (some_inj h')
  | [], _, .nil, h => exact (none_ne_some h).elim
  | [_], _, .cons _ .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _ :: _, _, .cons _ (.cons _ (.cons _ _)), h => exact (none_ne_some h).elim

/-- `leaky_relu`. -/
theorem leakyIv_sound (attrs : Attrs) {bs : List Bounds} {ts : List Tensor} {o : Shape}
    {lo hi : List Q} (hr : All2 Encloses bs ts) (h : leakyIv attrs bs = some (lo, hi)) :
    ∃ data, evalExact .leakyRelu attrs ts o = some data ∧ Within lo data hi := by
  match bs, ts, hr, h with
  | [x], [⟨sx, dx⟩], .cons ex .nil, h =>
    obtain ⟨_, wx, _⟩ := ex
    obtain ⟨bits, hb, h1⟩ := obind_some h
    obtain ⟨alpha, ha, h2⟩ := obind_some h1
    refine ⟨dx.map (leakyReluQ alpha), ?_, ?_⟩
    · show obind (attrFloat attrs .alpha) _ = _
      rw [hb]
      show obind (decodeF32 bits) _ = _
      rw [ha]
      rfl
    · cases hg : Q.ble Q.zero alpha with
      | true =>
        rw [hg] at h2
        have h4 := some_inj h2
        injection h4 with hl hh
        subst hl hh
        exact Within.map_mono (fun _ hq => leakyReluQ_wf hq)
          (fun _ _ h1 h2 l => leakyReluQ_le (decodeF32_wf ha) hg h1 h2 l) wx
      | false =>
        rw [hg] at h2
        exact within_unzipIv (within_leakyHull (decodeF32_wf ha) hg wx) (some_inj h2)
  | [], _, .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _, _, .cons _ (.cons _ _), h => exact (none_ne_some h).elim

/-- An op whose evaluation encloses the points between enclosed operands (of one shape). -/
def MonoOp (f : Tensor → Option (List Q)) : Prop :=
  ∀ (s : Shape) (lo x hi l h : List Q), Within lo x hi → f ⟨s, lo⟩ = some l → f ⟨s, hi⟩ = some h →
    ∃ d, f ⟨s, x⟩ = some d ∧ Within l d h

/-- A successful `Option.map` to a pair with a fixed first end. -/
theorem map_pair_some {l lo hi : List Q} : {o : Option (List Q)} →
    o.map (fun h => (l, h)) = some (lo, hi) → o = some hi ∧ l = lo
  | some _, h => by
    have e := some_inj h
    injection e with e1 e2
    subst e1 e2
    exact ⟨rfl, rfl⟩
  | none, h => (none_ne_some h).elim

/-- A monotone rule that succeeded had one operand, and encloses its evaluation. -/
theorem monoIv_sound {f : Tensor → Option (List Q)} (hf : MonoOp f) {bs : List Bounds}
    {ts : List Tensor} {lo hi : List Q} (hr : All2 Encloses bs ts) (h : monoIv f bs = some (lo, hi)) :
    ∃ t d, ts = [t] ∧ f t = some d ∧ Within lo d hi := by
  match bs, ts, hr, h with
  | [x], [⟨sx, dx⟩], .cons ex .nil, h =>
    obtain ⟨esx, wx, _⟩ := ex
    subst esx
    obtain ⟨l, hl, h1⟩ := obind_some h
    obtain ⟨hh, e⟩ := map_pair_some h1
    subst e
    obtain ⟨d, hd, w⟩ := hf _ _ _ _ _ _ wx hl hh
    exact ⟨_, d, rfl, hd, w⟩
  | [], _, .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _, _, .cons _ (.cons _ _), h => exact (none_ne_some h).elim

/-- A step that reads an option of the shape alone keeps an op monotone. -/
theorem obind_mono {α : Type} (o : Shape → Option α) {F : α → Tensor → Option (List Q)}
    (hF : ∀ a, MonoOp (F a)) : MonoOp (fun t => obind (o t.shape) (fun a => F a t)) := by
  intro s lo x hi l h w hl hh
  have hl' : obind (o s) (fun a => F a ⟨s, lo⟩) = some l := hl
  have hh' : obind (o s) (fun a => F a ⟨s, hi⟩) = some h := hh
  show ∃ d, obind (o s) (fun a => F a ⟨s, x⟩) = some d ∧ Within l d h
  cases e : o s with
  | none => rw [e] at hl'; exact (none_ne_some hl').elim
  | some a =>
    rw [e] at hl' hh'
    exact hF a s lo x hi l h w hl' hh'

/-- A float32 attribute read (with a positive denominator) keeps an op monotone. -/
theorem withFloat_mono (attrs : Attrs) (k : AttrKey) {F : Q → Tensor → Option (List Q)}
    (hF : ∀ v, v.WF → MonoOp (F v)) : MonoOp (fun t => withFloat attrs k (fun v => F v t)) := by
  intro s lo x hi l h w hl hh
  have hl' : obind (attrFloat attrs k) (fun b => obind (decodeF32 b) (fun v => F v ⟨s, lo⟩)) = some l := hl
  have hh' : obind (attrFloat attrs k) (fun b => obind (decodeF32 b) (fun v => F v ⟨s, hi⟩)) = some h := hh
  show ∃ d, obind (attrFloat attrs k) (fun b => obind (decodeF32 b) (fun v => F v ⟨s, x⟩)) = some d ∧
    Within l d h
  cases e : attrFloat attrs k with
  | none => rw [e] at hl'; exact (none_ne_some hl').elim
  | some b =>
    rw [e] at hl' hh'
    have hl2 : obind (decodeF32 b) (fun v => F v ⟨s, lo⟩) = some l := hl'
    have hh2 : obind (decodeF32 b) (fun v => F v ⟨s, hi⟩) = some h := hh'
    show ∃ d, obind (decodeF32 b) (fun v => F v ⟨s, x⟩) = some d ∧ Within l d h
    cases ev : decodeF32 b with
    | none => rw [ev] at hl2; exact (none_ne_some hl2).elim
    | some v =>
      rw [ev] at hl2 hh2
      exact hF v (decodeF32_wf ev) s lo x hi l h w hl2 hh2

/-- A step that reads an option independent of the operand keeps an op monotone. -/
theorem obind_mono' {α : Type} (o : Option α) {F : α → Tensor → Option (List Q)}
    (hF : ∀ a, MonoOp (F a)) : MonoOp (fun t => obind o (fun a => F a t)) :=
  obind_mono (fun _ => o) hF

/-- `transpose` gathers. -/
theorem transpose_mono (attrs : Attrs) (o : Shape) : MonoOp (fun t => transposeEval attrs t o) := by
  intro s lo x hi l h w hl hh
  have hl' : (transposeIndex attrs s o).map (gather lo) = some l := hl
  have hh' : (transposeIndex attrs s o).map (gather hi) = some h := hh
  show ∃ d, (transposeIndex attrs s o).map (gather x) = some d ∧ Within l d h
  cases e : transposeIndex attrs s o with
  | none => rw [e] at hl'; exact (none_ne_some hl').elim
  | some idx =>
    rw [e] at hl' hh'
    rw [← some_inj hl', ← some_inj hh']
    exact ⟨_, rfl, Within.gathered w idx⟩

/-- `slice` gathers. -/
theorem slice_mono (attrs : Attrs) : MonoOp (sliceEval attrs) := by
  intro s lo x hi l h w hl hh
  have hl' : (sliceIndex attrs s).map (gather lo) = some l := hl
  have hh' : (sliceIndex attrs s).map (gather hi) = some h := hh
  show ∃ d, (sliceIndex attrs s).map (gather x) = some d ∧ Within l d h
  cases e : sliceIndex attrs s with
  | none => rw [e] at hl'; exact (none_ne_some hl').elim
  | some idx =>
    rw [e] at hl' hh'
    rw [← some_inj hl', ← some_inj hh']
    exact ⟨_, rfl, Within.gathered w idx⟩

/-- The last step of a monotone op: `some` of an enclosing function of the operand. -/
theorem some_mono {F : Tensor → List Q} (hF : ∀ s lo x hi, Within lo x hi → Within (F ⟨s, lo⟩) (F ⟨s, x⟩) (F ⟨s, hi⟩)) :
    MonoOp (fun t => some (F t)) := by
  intro s lo x hi l h w hl hh
  rw [← some_inj hl, ← some_inj hh]
  exact ⟨_, rfl, hF s lo x hi w⟩

/-- `pad` reads input cells or its constant. -/
theorem pad_mono (attrs : Attrs) : MonoOp (padEval attrs) := by
  show MonoOp (fun t => padEval attrs t)
  unfold padEval
  refine obind_mono (padWidths attrs) (fun mw => ?_)
  obtain ⟨mode, widths⟩ := mw
  exact withFloat_mono attrs .value (fun v hv => some_mono (fun _ _ _ _ w => Within.padded w hv _))

/-- `maxpool2d` and `avgpool2d`: the maximum is monotone, and so is the sum over a count. -/
theorem pool_mono (avg : Bool) (attrs : Attrs) : MonoOp (poolEval avg attrs) := by
  show MonoOp (fun t => poolEval avg attrs t)
  unfold poolEval
  refine obind_mono' _ (fun sdp => ?_)
  obtain ⟨stride, dilation, padding⟩ := sdp
  refine obind_mono' _ (fun kernel => obind_mono' _ (fun ceil => obind_mono' _ (fun countPad => ?_)))
  refine some_mono (fun _ _ _ _ w => within_concatMap (fun _ => within_concatMap (fun _ =>
    within_map (fun _ => ?_) _) _) _)
  cases avg
  · exact within_maxQ (within_concatMap (fun _ => within_map (fun _ => Within.vecGet w _) _) _)
  · exact within_sumDiv (within_concatMap (fun _ => within_map (fun _ => Within.vecGet w _) _) _) _

/-- Tensors of one shape each, enclosed element by element. -/
inductive TensorsWithin : List Tensor → List Tensor → List Tensor → Prop
  | nil : TensorsWithin [] [] []
  | cons {a x b : Tensor} {as xs bs : List Tensor} : a.shape = x.shape → b.shape = x.shape →
      Within a.data x.data b.data → TensorsWithin as xs bs → TensorsWithin (a :: as) (x :: xs) (b :: bs)

/-- The operands' ends enclose the operands. -/
theorem all2_tensorsWithin : {bs : List Bounds} → {ts : List Tensor} → All2 Encloses bs ts →
    TensorsWithin (bs.map Bounds.loT) ts (bs.map Bounds.hiT)
  | _, _, .nil => TensorsWithin.nil
  | _, _, .cons e r => TensorsWithin.cons e.1.symm e.1.symm e.2.1 (all2_tensorsWithin r)

/-- Lists of lists of blocks, enclosed position by position. -/
inductive Within3 : List (List (List Q)) → List (List (List Q)) → List (List (List Q)) → Prop
  | nil : Within3 [] [] []
  | cons {l x h : List (List Q)} {ls xs hs : List (List (List Q))} : Within2 l x h →
      Within3 ls xs hs → Within3 (l :: ls) (x :: xs) (h :: hs)

/-- Block `j` of enclosed blocks (the empty block past the end). -/
theorem within2_nthD : {ls xs hs : List (List Q)} → Within2 ls xs hs → (j : Nat) →
    Within (nthD ls j []) (nthD xs j []) (nthD hs j [])
  | _, _, _, .nil, _ => Within.nil
  | _, _, _, .cons w _, 0 => w
  | _, _, _, .cons _ r, j + 1 => within2_nthD r j

/-- Block `j` of each operand, joined. -/
theorem within3_join (j : Nat) : {ls xs hs : List (List (List Q))} → Within3 ls xs hs →
    Within (concatMap (fun bl => nthD bl j []) ls) (concatMap (fun bl => nthD bl j []) xs)
      (concatMap (fun bl => nthD bl j []) hs)
  | _, _, _, .nil => Within.nil
  | _, _, _, .cons w r => Within.append (within2_nthD w j) (within3_join j r)

/-- Each operand cut into blocks along the axis. -/
theorem tensorsWithin_blocks (k outer : Nat) : {as xs bs : List Tensor} → TensorsWithin as xs bs →
    Within3 (as.map (fun t => chunks (prod (t.shape.drop k)) outer t.data))
      (xs.map (fun t => chunks (prod (t.shape.drop k)) outer t.data))
      (bs.map (fun t => chunks (prod (t.shape.drop k)) outer t.data))
  | _, _, _, .nil => Within3.nil
  | _, _, _, .cons ea eb w r => by
    show Within3 (chunks _ outer _ :: _) (chunks _ outer _ :: _) (chunks _ outer _ :: _)
    rw [ea, eb]
    exact Within3.cons (Within.blocks _ outer w) (tensorsWithin_blocks k outer r)

/-- The first operand's shape is the same for enclosed operands. -/
theorem tensorsWithin_head : {as xs bs : List Tensor} → TensorsWithin as xs bs →
    (headD as ⟨[], []⟩).shape = (headD xs ⟨[], []⟩).shape ∧
      (headD bs ⟨[], []⟩).shape = (headD xs ⟨[], []⟩).shape
  | _, _, _, .nil => ⟨rfl, rfl⟩
  | _, _, _, .cons ea eb _ _ => ⟨ea, eb⟩

/-- `concat`'s evaluation, its first operand's shape named. -/
theorem concatEval_eq (attrs : Attrs) (ts : List Tensor) (first : Shape)
    (e : (headD ts ⟨[], []⟩).shape = first) : concatEval attrs ts =
    obind (attrInt attrs .axis) fun axis => obind (normAxis axis first.length) fun k =>
      some (concatMap (fun j => concatMap (fun bl => nthD bl j [])
        (ts.map (fun t => chunks (prod (t.shape.drop k)) (prod (first.take k)) t.data)))
        (List.range (prod (first.take k)))) := by
  rw [← e]
  rfl

/-- `concat` of enclosed operands. -/
theorem concat_within (attrs : Attrs) {as xs bs : List Tensor} (tw : TensorsWithin as xs bs)
    {l h : List Q} (hl : concatEval attrs as = some l) (hh : concatEval attrs bs = some h) :
    ∃ d, concatEval attrs xs = some d ∧ Within l d h := by
  have e := tensorsWithin_head tw
  rw [concatEval_eq attrs as _ e.1] at hl
  rw [concatEval_eq attrs bs _ e.2] at hh
  rw [concatEval_eq attrs xs _ rfl]
  cases ea : attrInt attrs .axis with
  | none => rw [ea] at hl; exact (none_ne_some hl).elim
  | some axis =>
    rw [ea] at hl hh
    cases ek : normAxis axis (headD xs ⟨[], []⟩).shape.length with
    | none =>
      have hl' : obind (normAxis axis (headD xs ⟨[], []⟩).shape.length) _ = some l := hl
      rw [ek] at hl'
      exact (none_ne_some hl').elim
    | some k =>
      have hl' : obind (normAxis axis (headD xs ⟨[], []⟩).shape.length) _ = some l := hl
      have hh' : obind (normAxis axis (headD xs ⟨[], []⟩).shape.length) _ = some h := hh
      show ∃ d, obind (normAxis axis (headD xs ⟨[], []⟩).shape.length) _ = some d ∧ _
      rw [ek] at hl' hh' ⊢
      rw [← some_inj hl', ← some_inj hh']
      exact ⟨_, rfl, within_concatMap (fun j => within3_join j (tensorsWithin_blocks k _ tw)) _⟩

/-- Element `i` of a list with positive denominators has one. -/
theorem vecGet_wf {l : List Q} (h : AllWF l) (i : Nat) : ((Vec.ofList l).get i).WF :=
  (Within.vecGet (Within.refl l h) i).1

/-- Element `i` of a list with positive denominators, or zero, has one. -/
theorem convBias_wf {l : List Q} (h : AllWF l) (i : Nat) : (nthD l i Q.zero).WF :=
  (all2_nthD (R := SameWF) ⟨rfl, Q.zero_wf⟩ (all2_sameWF l h) i).2

/-- `pickLo` and `pickHi` choose an end. -/
theorem pick_wf {w l h : Q} (hl : l.WF) (hh : h.WF) : (pickLo w l h).WF ∧ (pickHi w l h).WF := by
  unfold pickLo pickHi
  cases Q.ble Q.zero w
  · exact ⟨hh, hl⟩
  · exact ⟨hl, hh⟩

/-- The taps of one output: each product with the chosen end against the product with the cell. -/
theorem taps_le {lo x hi ws : List Q} (w : Within lo x hi) (hw : AllWF ws) :
    (taps : List (Nat × Nat)) →
    PairsLe (taps.map (fun p => ((Vec.ofList ws).get p.1,
        pickLo ((Vec.ofList ws).get p.1) ((Vec.ofList lo).get p.2) ((Vec.ofList hi).get p.2))))
      (taps.map (fun p => ((Vec.ofList ws).get p.1, (Vec.ofList x).get p.2))) ∧
    PairsLe (taps.map (fun p => ((Vec.ofList ws).get p.1, (Vec.ofList x).get p.2)))
      (taps.map (fun p => ((Vec.ofList ws).get p.1,
        pickHi ((Vec.ofList ws).get p.1) ((Vec.ofList lo).get p.2) ((Vec.ofList hi).get p.2))))
  | [] => ⟨PairsLe.nil, PairsLe.nil⟩
  | p :: ps => by
    have e := Within.vecGet w p.2
    have ww := vecGet_wf hw p.1
    have pk := pick_wf (w := (Vec.ofList ws).get p.1) e.1 e.2.2.1
    have r := taps_le w hw ps
    have m1 := mul_pickLo_le ww e.1 e.2.1 e.2.2.1 e.2.2.2.1 e.2.2.2.2
    have m2 := mul_le_pickHi ww e.1 e.2.1 e.2.2.1 e.2.2.2.1 e.2.2.2.2
    rw [Q.mul_comm (pickLo _ _ _), Q.mul_comm ((Vec.ofList x).get p.2)] at m1
    rw [Q.mul_comm (pickHi _ _ _), Q.mul_comm ((Vec.ofList x).get p.2)] at m2
    exact ⟨PairsLe.cons ww pk.1 ww e.2.1 m1 r.1, PairsLe.cons ww e.2.1 ww pk.2 m2 r.2⟩

/-- `conv2d`'s bounds enclose its evaluation, for any taps. -/
theorem conv_core {lo x hi ws bs : List Q} (w : Within lo x hi) (hw : AllWF ws) (hb : AllWF bs)
    (idx : List (List (Nat × Nat) × Nat)) :
    Within
      (idx.map (fun out => sumProducts (out.1.map (fun p => ((Vec.ofList ws).get p.1,
        pickLo ((Vec.ofList ws).get p.1) ((Vec.ofList lo).get p.2) ((Vec.ofList hi).get p.2))))
        (nthD bs out.2 Q.zero)))
      (idx.map (fun out => sumProducts (out.1.map (fun p => ((Vec.ofList ws).get p.1,
        (Vec.ofList x).get p.2))) (nthD bs out.2 Q.zero)))
      (idx.map (fun out => sumProducts (out.1.map (fun p => ((Vec.ofList ws).get p.1,
        pickHi ((Vec.ofList ws).get p.1) ((Vec.ofList lo).get p.2) ((Vec.ofList hi).get p.2))))
        (nthD bs out.2 Q.zero))) :=
  within_map (fun out =>
    have r := taps_le w hw out.1
    have b := convBias_wf hb out.2
    ⟨sumProducts_wf _ _, sumProducts_wf _ _, sumProducts_wf _ _,
      sumProducts_le_sumProducts b b r.1 (Q.le_refl _), sumProducts_le_sumProducts b b r.2 (Q.le_refl _)⟩) idx

/-- `conv2d`, with its exact weight and bias. -/
theorem convIv_sound (attrs : Attrs) {bs : List Bounds} {ts : List Tensor} {o : Shape}
    {lo hi : List Q} (hr : All2 Encloses bs ts) (h : convIv attrs bs = some (lo, hi)) :
    ∃ data, evalExact .conv2d attrs ts o = some data ∧ Within lo data hi := by
  match bs, ts, hr, h with
  | [x, w], [⟨sx, dx⟩, ⟨sw, dw⟩], .cons ex (.cons ew .nil), h =>
    obtain ⟨hg, h'⟩ := guard_some h
    obtain ⟨esx, wx, _⟩ := ex
    obtain ⟨esw, ww, xw⟩ := ew
    have dweq : dw = w.lo := xw hg
    subst esx esw dweq
    obtain ⟨idx, hi1, h2⟩ := option_map_some' h'
    have h3 := h2
    injection h3 with hl hh
    subst hl hh
    refine ⟨_, ?_, conv_core (bs := []) wx (Within.wf_lo ww) (fun _ hq => nomatch hq) idx⟩
    show (conv2dIndex attrs x.shape w.shape).map _ = _
    rw [hi1]
    rfl
  | [x, w, b], [⟨sx, dx⟩, ⟨sw, dw⟩, ⟨sb, db⟩], .cons ex (.cons ew (.cons eb .nil)), h =>
    obtain ⟨hg, h'⟩ := guard_some h
    have hg2 := and_true_split hg
    obtain ⟨esx, wx, _⟩ := ex
    obtain ⟨esw, ww, xw⟩ := ew
    obtain ⟨_, wb, xb⟩ := eb
    have dweq : dw = w.lo := xw hg2.1
    have dbeq : db = b.lo := xb hg2.2
    subst esx esw dweq dbeq
    obtain ⟨idx, hi1, h2⟩ := option_map_some' h'
    have h3 := h2
    injection h3 with hl hh
    subst hl hh
    refine ⟨_, ?_, conv_core wx (Within.wf_lo ww) (Within.wf_lo wb) idx⟩
    show (conv2dIndex attrs x.shape w.shape).map _ = _
    rw [hi1]
    rfl
  | [], _, .nil, h => exact (none_ne_some h).elim
  | [_], _, .cons _ .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _ :: _ :: _, _, .cons _ (.cons _ (.cons _ (.cons _ _))), h =>
    exact (none_ne_some h).elim

/-- `div` by an exact divisor without zeros. -/
theorem divIv_sound (attrs : Attrs) {bs : List Bounds} {ts : List Tensor} {o : Shape}
    {lo hi : List Q} (hr : All2 Encloses bs ts) (h : divIv o bs = some (lo, hi)) :
    ∃ data, evalExact .div attrs ts o = some data ∧ Within lo data hi := by
  match bs, ts, hr, h with
  | [a, b], [⟨sa, da⟩, ⟨sb, db⟩], .cons ea (.cons eb .nil), h =>
    have h : divPair a b o = some (lo, hi) := h
    obtain ⟨hg, h1⟩ := guard_some h
    obtain ⟨hz, h2⟩ := guard_some h1
    obtain ⟨esa, wa, _⟩ := ea
    obtain ⟨esb, wb, xb⟩ := eb
    have dbeq : db = b.lo := xb hg
    subst esa esb dbeq
    have wd : AllWF (broadcastTo b.loT o) :=
      Within.wf_lo (Within.broadcast (Within.refl b.lo (Within.wf_lo wb)) b.shape o)
    have z := bool_eq_false_of_not hz
    refine ⟨zipWithL Q.div (broadcastTo ⟨a.shape, da⟩ o) (broadcastTo b.loT o), ?_, ?_⟩
    · show guard (!((broadcastTo b.loT o).any Q.isZero)) _ = _
      rw [z]
      rfl
    · exact within_unzipIv (all2_zip (f := divIvPair) (g := Q.div)
        (fun _ _ _ _ e d => divIvPair_between e d) (Within.pairs (Within.broadcast wa a.shape o))
        (all2_divisor _ wd z)) (some_inj h2)
  | [], _, .nil, h => exact (none_ne_some h).elim
  | [_], _, .cons _ .nil, h => exact (none_ne_some h).elim
  | _ :: _ :: _ :: _, _, .cons _ (.cons _ (.cons _ _)), h => exact (none_ne_some h).elim

/-- Every interval rule encloses its op's exact evaluation. -/
theorem intervalOp_sound (E : Enclosure) (op : OpTag) (attrs : Attrs) {bs : List Bounds}
    {ts : List Tensor} {o : Shape} {lo hi : List Q} (hr : All2 Encloses bs ts)
    (h : intervalOp op attrs bs o = some (lo, hi)) :
    ∃ data, evalOp E op attrs ts o = some data ∧ Within lo data hi := by
  cases op
  case add =>
    obtain ⟨a, b, ⟨sa, da⟩, ⟨sb, db⟩, rfl, ⟨esa, wa, _⟩, ⟨esb, wb, _⟩, hf⟩ := binaryIv_sound hr h
    injection hf with hl hh
    subst hl hh esa esb
    exact ⟨_, rfl, Within.zip_mono Q.add_wf
      (fun _ _ _ _ h1 h2 h3 h4 l1 l2 => Q.add_le_add h1 h2 h3 h4 l1 l2)
      (Within.broadcast wa _ o) (Within.broadcast wb _ o)⟩
  case sub =>
    obtain ⟨a, b, ⟨sa, da⟩, ⟨sb, db⟩, rfl, ⟨esa, wa, _⟩, ⟨esb, wb, _⟩, hf⟩ := binaryIv_sound hr h
    injection hf with hl hh
    subst hl hh esa esb
    exact ⟨_, rfl, Within.zip_anti Q.sub_wf
      (fun _ _ _ _ h1 h2 h3 h4 l1 l2 => Q.sub_le_sub h1 h2 h3 h4 l1 l2)
      (Within.broadcast wa _ o) (Within.broadcast wb _ o)⟩
  case mul =>
    obtain ⟨a, b, ⟨sa, da⟩, ⟨sb, db⟩, rfl, ⟨esa, wa, _⟩, ⟨esb, wb, _⟩, hf⟩ := binaryIv_sound hr h
    subst esa esb
    have w := all2_zip (f := mulIv) (g := Q.mul) (fun _ _ _ _ e1 e2 => mulIv_between e1 e2)
      (Within.pairs (Within.broadcast wa a.shape o)) (Within.pairs (Within.broadcast wb b.shape o))
    exact ⟨binaryEval Q.mul ⟨a.shape, da⟩ ⟨b.shape, db⟩ o, rfl, within_unzipIv w hf⟩
  case div => exact divIv_sound attrs hr h
  case leakyRelu => exact leakyIv_sound attrs hr h
  case neg =>
    obtain ⟨x, ⟨sx, dx⟩, rfl, ⟨_, wx, _⟩, hf⟩ := unaryIv_sound hr h
    injection hf with hl hh
    subst hl hh
    exact ⟨_, rfl, Within.map_anti (fun _ hq => Q.neg_wf hq)
      (fun _ _ ha hb l => Q.neg_le_neg ha hb l) wx⟩
  case relu =>
    obtain ⟨x, ⟨sx, dx⟩, rfl, ⟨_, wx, _⟩, hf⟩ := unaryIv_sound hr h
    injection hf with hl hh
    subst hl hh
    exact ⟨_, rfl, Within.map_mono (fun _ hq => reluQ_wf hq)
      (fun _ _ ha hb l => reluQ_le_reluQ ha hb l) wx⟩
  case linear => exact linearIv_sound attrs hr h
  case matmul => exact matmulIv_sound attrs hr h
  case conv2d => exact convIv_sound attrs hr h
  case transpose =>
    obtain ⟨_, d, rfl, hd, w⟩ := monoIv_sound (transpose_mono attrs o) hr h
    exact ⟨d, hd, w⟩
  case slice =>
    obtain ⟨_, d, rfl, hd, w⟩ := monoIv_sound (slice_mono attrs) hr h
    exact ⟨d, hd, w⟩
  case pad =>
    obtain ⟨_, d, rfl, hd, w⟩ := monoIv_sound (pad_mono attrs) hr h
    exact ⟨d, hd, w⟩
  case maxpool2d =>
    obtain ⟨_, d, rfl, hd, w⟩ := monoIv_sound (pool_mono false attrs) hr h
    exact ⟨d, hd, w⟩
  case avgpool2d =>
    obtain ⟨_, d, rfl, hd, w⟩ := monoIv_sound (pool_mono true attrs) hr h
    exact ⟨d, hd, w⟩
  case concat =>
    obtain ⟨l, hl, h1⟩ := obind_some h
    obtain ⟨hh, e⟩ := map_pair_some h1
    subst e
    exact concat_within attrs (all2_tensorsWithin hr) hl hh
  case flatten =>
    obtain ⟨x, ⟨sx, dx⟩, rfl, ⟨_, wx, _⟩, hf⟩ := unaryIv_sound hr h
    injection hf with hl hh
    subst hl hh
    exact ⟨_, rfl, wx⟩
  case reshape =>
    obtain ⟨x, ⟨sx, dx⟩, rfl, ⟨_, wx, _⟩, hf⟩ := unaryIv_sound hr h
    injection hf with hl hh
    subst hl hh
    exact ⟨_, rfl, wx⟩
  all_goals exact (none_ne_some h).elim

/-! ### Soundness of the node walk -/

/-- `allWFb` means every element has a positive denominator. -/
theorem allWFb_sound {l : List Q} (h : allWFb l = true) : AllWF l :=
  fun q hq => nat_le_of_ble_eq_true (all_sound l h q hq)

/-- Ends checked against an enclosure with `allLe` still enclose. -/
theorem within_of_allLe : {l x h l' h' : List Q} → Within l x h → AllWF l' → AllWF h' →
    allLe l' l = true → allLe h h' = true → Within l' x h'
  | _, _, _, [], [], .nil, _, _, _, _ => Within.nil
  | _, _, _, a :: _, b :: _, .cons e w, hl, hh, h1, h2 => by
    have s1 := and_true_split h1
    have s2 := and_true_split h2
    exact Within.cons
      (e.widen (hl a (List.Mem.head _)) (hh b (List.Mem.head _)) s1.1 s2.1)
      (within_of_allLe w (fun q hq => hl q (List.Mem.tail a hq)) (fun q hq => hh q (List.Mem.tail b hq))
        s1.2 s2.2)
  | _, _, _, [], _ :: _, .nil, _, _, _, h2 => (false_ne_true' h2).elim
  | _, _, _, _ :: _, [], .nil, _, _, h1, _ => (false_ne_true' h1).elim
  | _, _, _, [], _, .cons _ _, _, _, h1, _ => (false_ne_true' h1).elim
  | _, _, _, _ :: _, [], .cons _ _, _, _, _, h2 => (false_ne_true' h2).elim

/-- Related tables have related entries. -/
theorem All2.get {α β : Type} {R : α → β → Prop} : {as : List α} → {bs : List β} → All2 R as bs →
    (i : Nat) → (a : α) → nth as i = some a → ∃ b, nth bs i = some b ∧ R a b
  | [], _, .nil, _, _, h => (none_ne_some h).elim
  | _ :: _, b :: _, .cons e _, 0, _, h => ⟨b, rfl, (some_inj h) ▸ e⟩
  | _ :: _, _ :: _, .cons _ r, i + 1, a, h => All2.get r i a h

/-- A successful `allSome` of `some a :: rest`. -/
theorem allSome_cons {α : Type} {a : α} {rest : List (Option α)} {xs : List α}
    (h : allSome (some a :: rest) = some xs) : ∃ ys, allSome rest = some ys ∧ xs = a :: ys := by
  unfold allSome at h
  cases hr : allSome rest with
  | none => rw [hr] at h; exact (none_ne_some h).elim
  | some ys => rw [hr] at h; exact ⟨ys, rfl, (some_inj h).symm⟩

/-- `allSome` of `some b :: rest`. -/
theorem allSome_cons_some {α : Type} {b : α} {rest : List (Option α)} {ys : List α}
    (h : allSome rest = some ys) : allSome (some b :: rest) = some (b :: ys) := by
  unfold allSome
  rw [h]

/-- Looking values up in related tables, through a map on the second. -/
theorem All2.lookup {α β γ : Type} {R : α → β → Prop} {S : α → γ → Prop} {f : β → γ}
    (hRS : ∀ a b, R a b → S a (f b)) {as : List α} {bs : List β} (hr : All2 R as bs)
    (get : Nat → Option γ) (hget : ∀ i, get i = (nth bs i).map f) :
    (idx : List Nat) → (xs : List α) → allSome (idx.map (nth as)) = some xs →
    ∃ ys, allSome (idx.map get) = some ys ∧ All2 S xs ys
  | [], _, h => ⟨[], rfl, (some_inj h) ▸ All2.nil⟩
  | i :: is, xs, h => by
    cases ha : nth as i with
    | none =>
      have h' : allSome (nth as i :: is.map (nth as)) = some xs := h
      rw [ha] at h'
      exact (none_ne_some h').elim
    | some a =>
      have h' : allSome (nth as i :: is.map (nth as)) = some xs := h
      rw [ha] at h'
      obtain ⟨xs', hxs, e⟩ := allSome_cons h'
      obtain ⟨b, hb, rab⟩ := All2.get hr i a ha
      obtain ⟨ys, hys, rel⟩ := All2.lookup hRS hr get hget is xs' hxs
      refine ⟨f b :: ys, ?_, e ▸ All2.cons (hRS a b rab) rel⟩
      show allSome (get i :: is.map get) = _
      rw [hget i, hb]
      exact allSome_cons_some hys

/-- `Option.map id` changes nothing. -/
theorem option_map_id {α : Type} (o : Option α) : o.map (fun t => t) = o := by cases o <;> rfl

/-- Related operands have the same shapes. -/
theorem All2.shapes : {bs : List Bounds} → {ts : List Tensor} → All2 Encloses bs ts →
    bs.map Bounds.shape = ts.map Tensor.shape
  | [], [], .nil => rfl
  | _ :: _, _ :: _, .cons e r => by
    show _ :: _ = _ :: _
    rw [e.1, All2.shapes r]

/-- A node that checks evaluates, and its stated bounds enclose its value. -/
theorem stepNode_sound (E : Enclosure) {tbl : List Bounds} {env : List Tensor} {n : Node}
    {st : List Q × List Q} {b : Bounds} (hr : All2 Encloses tbl env) (h : stepNode tbl n st = some b) :
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
  refine ⟨⟨o, data⟩, ?_, ?_⟩
  · unfold evalNode
    rw [hta]
    show obind (opShape n.op n.attrs (targs.map Tensor.shape)) _ = _
    rw [← All2.shapes rel, ho]
    show Option.map _ (evalOp E n.op n.attrs targs o) = _
    rw [hd]
    rfl
  · rw [← some_inj hb]
    exact ⟨rfl, within_of_allLe wd (allWFb_sound c2.1) (allWFb_sound c2.2) c1.2 c.2,
      fun e => (false_ne_true' e).elim⟩

/-- Appending related entries keeps tables related. -/
theorem All2.snoc {α β : Type} {R : α → β → Prop} {a : α} {b : β} (e : R a b) :
    {as : List α} → {bs : List β} → All2 R as bs → All2 R (as ++ [a]) (bs ++ [b])
  | [], [], .nil => All2.cons e All2.nil
  | _ :: _, _ :: _, .cons e' r => All2.cons e' (All2.snoc e r)

/-- Nodes that check evaluate, and the checked table encloses the values. -/
theorem checkNodes_sound (E : Enclosure) : (ns : List Node) → {tbl : List Bounds} →
    {env : List Tensor} → {sts : List (List Q × List Q)} → {tbl' : List Bounds} →
    All2 Encloses tbl env → checkNodes tbl ns sts = some tbl' →
    ∃ env', runNodes E env ns = some env' ∧ All2 Encloses tbl' env'
  | [], _, env, [], _, hr, h => ⟨env, rfl, (some_inj h) ▸ hr⟩
  | [], _, _, _ :: _, _, _, h => (none_ne_some h).elim
  | _ :: _, _, _, [], _, _, h => (none_ne_some h).elim
  | n :: ns, tbl, env, st :: sts, _, hr, h => by
    cases hs : stepNode tbl n st with
    | none =>
      have h' : (match stepNode tbl n st with
        | some b => checkNodes (tbl ++ [b]) ns sts
        | none => none) = _ := h
      rw [hs] at h'
      exact (none_ne_some h').elim
    | some b =>
      have h' : (match stepNode tbl n st with
        | some b => checkNodes (tbl ++ [b]) ns sts
        | none => none) = _ := h
      rw [hs] at h'
      obtain ⟨t, ht, et⟩ := stepNode_sound E hr hs
      obtain ⟨env', he, r'⟩ := checkNodes_sound E ns (All2.snoc et hr) h'
      refine ⟨env', ?_, r'⟩
      unfold runNodes
      rw [ht]
      exact he

/-! ### Inputs, parameters, outputs -/

/-- An input in a box of rationals is enclosed by the box. -/
theorem inBox_within : {lo hi x : List Q} → InBox lo hi x → AllWF lo → AllWF hi → Within lo x hi
  | _, _, _, .nil, _, _ => Within.nil
  | l :: _, h :: _, _ :: _, .cons e1 e2 wx r, hl, hh => Within.cons
      ⟨hl l (List.Mem.head _), wx, hh h (List.Mem.head _), e1, e2⟩
      (inBox_within r (fun q hq => hl q (List.Mem.tail l hq)) (fun q hq => hh q (List.Mem.tail h hq)))

/-- Enclosed values lie in a box with wider ends. -/
theorem within_inBox : {lo x hi : List Q} → Within lo x hi → InBox lo hi x
  | _, _, _, .nil => InBox.nil
  | _, _, _, .cons e w => InBox.cons e.2.2.2.1 e.2.2.2.2 e.2.1 (within_inBox w)

/-- The inputs of the box have the sizes its lower ends have, and the box encloses them. -/
theorem inputs_enclosed : (shapes : List Shape) → {box : Box} → {xs : List (List Q)} →
    InBoxes box xs → box.all (fun b => allWFb b.1 && allWFb b.2) = true →
    sizesOk shapes (box.map (fun b => b.1)) = true →
    sizesOk shapes xs = true ∧
      All2 Encloses (zipWithL (fun s (b : List Q × List Q) => Bounds.mk s b.1 b.2 false) shapes box)
        (zipWithL Tensor.mk shapes xs)
  | [], _, _, .nil, _, _ => ⟨rfl, All2.nil⟩
  | [], _, _, .cons _ _, _, h => (false_ne_true' h).elim
  | _ :: _, _, _, .nil, _, h => (false_ne_true' h).elim
  | s :: ss, (lo, hi) :: _, x :: _, .cons ib r, hw, hs => by
    have w1 := and_true_split hw
    have w2 := and_true_split w1.1
    have s1 := and_true_split hs
    have wx := inBox_within ib (allWFb_sound w2.1) (allWFb_sound w2.2)
    obtain ⟨hs', rel⟩ := inputs_enclosed ss r w1.2 s1.2
    have hlen : x.length = lo.length := Within.length_lo wx
    refine ⟨?_, All2.cons ⟨rfl, wx, fun e => (false_ne_true' e).elim⟩ rel⟩
    show (Nat.beq x.length (prod s) && sizesOk ss _) = true
    have e : Nat.beq lo.length (prod s) = true := s1.1
    rw [hlen, hs', e]
    rfl

/-- Parameters are enclosed by themselves, exactly. -/
theorem params_enclosed : (shapes : List Shape) → (params : List (List Q)) →
    params.all allWFb = true →
    All2 Encloses (zipWithL (fun s p => Bounds.mk s p p true) shapes params)
      (zipWithL Tensor.mk shapes params)
  | [], _, _ => All2.nil
  | _ :: _, [], _ => All2.nil
  | s :: ss, p :: ps, h => by
    have h1 := and_true_split h
    exact All2.cons ⟨rfl, Within.refl p (allWFb_sound h1.1), fun _ => rfl⟩
      (params_enclosed ss ps h1.2)

/-- `sizesOk` holds only for lists of one length. -/
theorem sizesOk_length : (s : List Shape) → (d : List (List Q)) → sizesOk s d = true →
    s.length = d.length
  | [], [], _ => rfl
  | _ :: ss, _ :: ds, h => congrArg Nat.succ (sizesOk_length ss ds (and_true_split h).2)
  | [], _ :: _, h => (false_ne_true' h).elim
  | _ :: _, [], h => (false_ne_true' h).elim

/-- Zipping concatenations whose first parts have one length. -/
theorem zipWithL_append {α β γ : Type} (f : α → β → γ) : (a : List α) → (b : List α) →
    (c : List β) → (d : List β) → a.length = c.length →
    zipWithL f (a ++ b) (c ++ d) = zipWithL f a c ++ zipWithL f b d
  | [], _, [], _, _ => rfl
  | x :: a, b, y :: c, d, h => by
    show f x y :: zipWithL f (a ++ b) (c ++ d) = f x y :: (zipWithL f a c ++ zipWithL f b d)
    rw [zipWithL_append f a b c d (Nat.succ.inj h)]
  | [], _, _ :: _, _, h => Nat.noConfusion h
  | _ :: _, _, [], _, h => Nat.noConfusion h

/-- `isSomeTrue` means `some true`. -/
theorem isSomeTrue_sound : {o : Option Bool} → isSomeTrue o = true → o = some true
  | some true, _ => rfl
  | some false, h => (false_ne_true' h).elim
  | none, h => (false_ne_true' h).elim

/-- A successful `Option.map`. -/
theorem option_map_some {α β : Type} {f : α → β} : {o : Option α} → {b : β} → o.map f = some b →
    ∃ a, o = some a ∧ f a = b
  | some a, _, h => ⟨a, rfl, some_inj h⟩
  | none, _, h => (none_ne_some h).elim

/-- A refuted constraint fails on every enclosed output. -/
theorem refutedBy_sound {c : Constraint} {lo y hi : List Q} (w : Within lo y hi)
    (h : c.refutedBy lo hi = true) : ¬ c.Holds y := by
  have h1 := and_true_split h
  have h2 := and_true_split h1.1
  have hb : c.bound.WF := nat_le_of_ble_eq_true h2.2
  have bt := dot_between (b := Q.zero) (allWFb_sound h2.1) Q.zero_wf w
  unfold Constraint.Holds
  cases hs : c.strict with
  | true =>
    have hm : Q.ble c.bound (dot (pickRow pickLo c.coeffs lo hi) c.coeffs Q.zero) = true := by
      have e := h1.2
      rw [hs] at e
      exact e
    have hle : Q.ble c.bound (dot y c.coeffs Q.zero) = true :=
      Q.le_trans hb bt.1 bt.2.1 hm bt.2.2.2.1
    intro hl
    have hl' : (!(Q.ble c.bound (dot y c.coeffs Q.zero))) = true := hl
    rw [hle] at hl'
    exact false_ne_true' hl'
  | false =>
    have hm : Q.blt c.bound (dot (pickRow pickLo c.coeffs lo hi) c.coeffs Q.zero) = true := by
      have e := h1.2
      rw [hs] at e
      exact e
    have hlt := Q.lt_of_lt_of_le hb bt.1 bt.2.1 hm bt.2.2.2.1
    intro hl
    have hlt' : (!(Q.ble (dot y c.coeffs Q.zero) c.bound)) = true := hlt
    have hl' : Q.ble (dot y c.coeffs Q.zero) c.bound = true := hl
    rw [hl'] at hlt'
    exact false_ne_true' hlt'

/-- A property checked on an output's bounds holds for every enclosed output. -/
theorem OutProp.check_sound {p : OutProp} {lo y hi : List Q} (w : Within lo y hi)
    (h : p.check lo hi = true) : p.Holds y := by
  cases p with
  | box l u =>
    have h1 := and_true_split h
    have h2 := and_true_split h1.1
    have h3 := and_true_split h2.1
    exact within_inBox (within_of_allLe w (allWFb_sound h3.1) (allWFb_sound h3.2) h2.2 h1.2)
  | avoids terms =>
    intro t ht
    obtain ⟨c, hc, hr⟩ := any_sound t (all_sound terms h t ht)
    exact ⟨c, hc, refutedBy_sound w hr⟩

/-- What a certificate that checks proves, with the output's elements rationals (the checker asks
the output's stated bounds to be rationals, and they enclose it); `robust_of_checkIBP` needs both. -/
theorem checkIBP_sound_wf (g : Graph) (params : List (List Q)) (box : Box)
    (stated : List (List Q × List Q)) (out : Nat) (p : OutProp)
    (h : checkIBP g params box stated out p = true) :
    Safe g params box (fun ys => AllWF (nthD ys out []) ∧ p.Holds (nthD ys out [])) := by
  intro E _ xs hx
  have h1 := and_true_split h
  have h2 := and_true_split h1.1
  have h3 := and_true_split h2.1
  have h4 := and_true_split h3.1
  obtain ⟨hin, encIn⟩ := inputs_enclosed g.inputs hx h4.2 h4.1
  have encP := params_enclosed g.params params h2.2
  obtain ⟨tbl, htbl, hc1⟩ := obind_some (isSomeTrue_sound h1.2)
  obtain ⟨outs, houts, hc2⟩ := obind_some hc1
  obtain ⟨b, hb, hpb⟩ := option_map_some hc2
  have enc0 : All2 Encloses (initBounds g params box)
      (zipWithL Tensor.mk (g.inputs ++ g.params) (xs ++ params)) := by
    rw [zipWithL_append Tensor.mk g.inputs g.params xs params (sizesOk_length _ _ hin)]
    exact All2.append encIn encP
  obtain ⟨env', hrun, rel⟩ := checkNodes_sound E g.nodes enc0 htbl
  obtain ⟨ys, hys, relo⟩ := All2.lookup (S := fun b y => Within b.lo y b.hi) (f := Tensor.data)
    (fun _ _ e => e.2.1) rel (fun o => (nth env' o).map Tensor.data) (fun _ => rfl) g.outputs outs houts
  obtain ⟨y, hy, wy⟩ := All2.get relo out b hb
  refine ⟨ys, ?_, ?_⟩
  · unfold denote
    rw [hin, h3.2]
    show obind (runNodes E _ g.nodes) _ = _
    rw [hrun]
    exact hys
  · show AllWF ((nth ys out).getD []) ∧ p.Holds ((nth ys out).getD [])
    rw [hy]
    exact ⟨Within.wf_x wy, OutProp.check_sound wy hpb⟩

/-- **Soundness of the interval checker.** A certificate that checks proves, for every
enclosure and every input in the box, that the network has outputs and that output `out` has
the property `p`. -/
theorem checkIBP_sound (g : Graph) (params : List (List Q)) (box : Box)
    (stated : List (List Q × List Q)) (out : Nat) (p : OutProp)
    (h : checkIBP g params box stated out p = true) :
    Safe g params box (fun ys => p.Holds (nthD ys out [])) := by
  intro E hE xs hx
  obtain ⟨ys, hys, _, hp⟩ := checkIBP_sound_wf g params box stated out p h E hE xs hx
  exact ⟨ys, hys, hp⟩

end Pytorch2Lean
