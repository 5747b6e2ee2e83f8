/-
pytorch2lean: neural networks as Lean data, with a kernel-checked meaning.

* `Pytorch2Lean.Q`: exact rationals; `Pytorch2Lean.Float32`: bit-exact float32 decoding.
* `Pytorch2Lean.IR`: the graph IR; `Pytorch2Lean.Shapes`: each op's shape rule.
* `Pytorch2Lean.WellFormed`: `checkWF`, `inferShapes` and their soundness theorems;
  `Pytorch2Lean.WellFormedFast`: `inferShapesFast`, proved equal to `inferShapes`
  (`inferShapesFast_eq`) and evaluated in steps about `n log n` in the graph (the value table as a
  balanced tree, the parameters' use by one sort); exports cite `inferShapesFast_sound`.
* `Pytorch2Lean.Denote`: `denote`, exact over `Q`, through an `Enclosure` for `exp`/`sqrt`/...
* `Pytorch2Lean.Spec`: `InBox`, `Safe`: the statements checkers prove; `Enclosure.constant_valid`:
  a valid enclosure exists, so `Safe` is never vacuous.
* `Pytorch2Lean.Causal`: `CausalDeps`: a position-dependency analysis and its causality checker.
* `Pytorch2Lean.Lemmas`: the project's own `Nat`/`Bool` facts; `Pytorch2Lean.QOrder`: order and
  monotonicity facts about `Q` (`Q.le_trans`, `Q.add_le_add`, `dot_le_dot`, ...) for checkers' proofs.
* `Pytorch2Lean.Within`: elementwise enclosure of lists through the denotation's list functions;
  `Pytorch2Lean.CheckIBP`: the interval certificate checker and `checkIBP_sound`.
* `Pytorch2Lean.Linear`: linear functions of values on the naturals (`vdot`, `linear_exchange`);
  `Pytorch2Lean.Relax`: ReLU lines (`lineOk`, `relu_lines_sum`); `Pytorch2Lean.Packed`: the same
  combinations of matrix rows from packed big naturals (`colCombF`, `colCombF_vdot`);
  `Pytorch2Lean.CheckCROWN`: the
  CROWN certificate checker (back-substitution) and `checkCROWN_sound`, `robust_of_checkCROWN`;
  `Pytorch2Lean.Staged`: the same check in one kernel evaluation per node (`nodesOkFrom`) and one for
  the claim (`outputOkC`), joined by `checkCROWN_staged`.
* `Pytorch2Lean.CheckBaB`: input-split trees (`lowerHalf`, `upperHalf`, `safe_split`): leaves'
  theorems about the pieces of a box joined into one about the box.
* `Pytorch2Lean.Robust`: robustness queries (`robustnessTerms`, `ArgmaxIs`) and the corollary a
  robustness certificate yields (`robust_of_checkIBP`).
-/
import Pytorch2Lean.Q
import Pytorch2Lean.Util
import Pytorch2Lean.Float32
import Pytorch2Lean.IR
import Pytorch2Lean.Shapes
import Pytorch2Lean.WellFormed
import Pytorch2Lean.WellFormedFast
import Pytorch2Lean.Tensor
import Pytorch2Lean.Denote
import Pytorch2Lean.Spec
import Pytorch2Lean.Causal
import Pytorch2Lean.Lemmas
import Pytorch2Lean.QOrder
import Pytorch2Lean.Within
import Pytorch2Lean.CheckIBP
import Pytorch2Lean.Robust
import Pytorch2Lean.Linear
import Pytorch2Lean.Relax
import Pytorch2Lean.Packed
import Pytorch2Lean.CheckCROWN
import Pytorch2Lean.Staged
import Pytorch2Lean.CheckBaB
