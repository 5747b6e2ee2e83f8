/-
The graph IR as Lean data: the twin of `pytorch2lean/ir/graph.py`.

Inputs, parameters and nodes share one table of values, in this order: value `i` is input `i`
for `i < inputs.length`, then parameter `i - inputs.length`, then node outputs. A node names its
operands by their index in this table, and a well-formed graph only names earlier values (see
`WellFormed`), so it is acyclic by construction. Attributes are data: a list of
`(AttrKey, AttrVal)` pairs in the order of the Python attribute names, as `make_node` stores them.
-/
import Pytorch2Lean.Util

namespace Pytorch2Lean

/-- A per-sample tensor shape, outermost axis first. `[]` is a scalar. -/
abbrev Shape := List Nat

/-- One constructor per op tag of the Python registry (`OpSpec.lean`). -/
inductive OpTag where
  | add | sub | mul | div | neg | relu | leakyRelu | sigmoid | tanh
  | linear | matmul | conv2d | maxpool2d | avgpool2d | batchnorm
  | flatten | reshape | transpose | concat | slice | pad
  | softmax | maskedSoftmax | layernorm | gelu | embedding
  deriving DecidableEq

/-- Attribute names of the op catalog (Python `snake_case` names in `camelCase`). -/
inductive AttrKey where
  | alpha | approximate | axes | axis | ceilMode | countIncludePad | dilation | ends | epsilon
  | groups | kernel | mode | pads | padding | perm | shape | starts | steps | stride | value
  deriving DecidableEq

/-- The string values that string attributes of the catalog may take. -/
inductive StrVal where
  | constant | reflect | edge | none | tanh
  deriving DecidableEq

/-- An attribute value. Floats are float32 bit patterns (decoded by `decodeF32`), as the
checkpoint and the Python IR store them. -/
inductive AttrVal where
  | int (v : Int)
  | float (bits : Nat)
  | bool (v : Bool)
  | str (v : StrVal)
  | ints (v : List Int)
  | floats (bits : List Nat)
  deriving DecidableEq

/-- The kind of an attribute, as in the Python schema (`ATTR_KINDS`). -/
inductive AttrKind where
  | int | float | bool | str | ints | floats
  deriving DecidableEq

/-- An op's attributes: `(name, value)` pairs. -/
abbrev Attrs := List (AttrKey × AttrVal)

/-- One op application. -/
structure Node where
  /-- The op. -/
  op : OpTag
  /-- The operands, as indices into the value table (inputs, then parameters, then nodes). -/
  args : List Nat
  /-- The attributes, every attribute of the op's schema present. -/
  attrs : Attrs
  /-- The output shape the node states; `checkWF` checks it against the op's shape rule. -/
  shape : Shape

/-- A model: the shapes of its inputs and parameters, its nodes in topological order, and the
value-table indices of its outputs. Parameter values are not part of the graph (see `denote`). -/
structure Graph where
  /-- Input shapes. -/
  inputs : List Shape
  /-- Parameter shapes. -/
  params : List Shape
  /-- The nodes, each using only earlier values. -/
  nodes : List Node
  /-- The outputs (indices into the value table; inputs or nodes, never parameters). -/
  outputs : List Nat

/-- The kind of an attribute value. -/
def AttrVal.kind : AttrVal → AttrKind
  | .int _ => .int
  | .float _ => .float
  | .bool _ => .bool
  | .str _ => .str
  | .ints _ => .ints
  | .floats _ => .floats

/-- The value of attribute `k`, if present. -/
def attr (attrs : Attrs) (k : AttrKey) : Option AttrVal :=
  match attrs with
  | [] => none
  | (k', v) :: rest => cond (decide (k = k')) (some v) (attr rest k)

/-- Integer attribute `k`. -/
def attrInt (attrs : Attrs) (k : AttrKey) : Option Int :=
  match attr attrs k with
  | some (.int v) => some v
  | _ => none

/-- Integer-list attribute `k`. -/
def attrInts (attrs : Attrs) (k : AttrKey) : Option (List Int) :=
  match attr attrs k with
  | some (.ints v) => some v
  | _ => none

/-- Boolean attribute `k`. -/
def attrBool (attrs : Attrs) (k : AttrKey) : Option Bool :=
  match attr attrs k with
  | some (.bool v) => some v
  | _ => none

/-- String attribute `k`. -/
def attrStr (attrs : Attrs) (k : AttrKey) : Option StrVal :=
  match attr attrs k with
  | some (.str v) => some v
  | _ => none

/-- Float attribute `k`, as its float32 bit pattern. -/
def attrFloat (attrs : Attrs) (k : AttrKey) : Option Nat :=
  match attr attrs k with
  | some (.float v) => some v
  | _ => none

namespace OpTag

/-- The attribute schema of an op: names (in the order of the Python names) and kinds. -/
def schema : OpTag → List (AttrKey × AttrKind)
  | leakyRelu => [(.alpha, .float)]
  | conv2d => [(.dilation, .ints), (.groups, .int), (.padding, .ints), (.stride, .ints)]
  | maxpool2d => [(.ceilMode, .bool), (.dilation, .ints), (.kernel, .ints), (.padding, .ints),
      (.stride, .ints)]
  | avgpool2d => [(.ceilMode, .bool), (.countIncludePad, .bool), (.kernel, .ints),
      (.padding, .ints), (.stride, .ints)]
  | batchnorm => [(.axis, .int), (.epsilon, .float)]
  | flatten => [(.axis, .int)]
  | reshape => [(.shape, .ints)]
  | transpose => [(.perm, .ints)]
  | concat => [(.axis, .int)]
  | slice => [(.axes, .ints), (.ends, .ints), (.starts, .ints), (.steps, .ints)]
  | pad => [(.mode, .str), (.pads, .ints), (.value, .float)]
  | softmax => [(.axis, .int)]
  | layernorm => [(.axis, .int), (.epsilon, .float)]
  | gelu => [(.approximate, .str)]
  | _ => []

/-- How many operands the op takes at least. -/
def minArity : OpTag → Nat
  | add | sub | mul | div | linear | matmul | conv2d | layernorm | maskedSoftmax | embedding => 2
  | batchnorm => 5
  | _ => 1

/-- How many operands the op takes at most (`none`: any number, for `concat`). -/
def maxArity : OpTag → Option Nat
  | add | sub | mul | div | matmul | maskedSoftmax | embedding => some 2
  | linear | conv2d | layernorm => some 3
  | batchnorm => some 5
  | concat => none
  | _ => some 1

/-- `true` when operand `k` must be a parameter (weights, biases, statistics, attention masks,
embedding tables). -/
def paramOperand : OpTag → Nat → Bool
  | linear, k | conv2d, k | layernorm, k | maskedSoftmax, k | embedding, k => Nat.ble 1 k
  | batchnorm, k => Nat.ble 1 k
  | _, _ => false

/-- `true` for ops with an exact rational meaning (all but the seven that need `exp`, `sqrt`,
`tanh` or `erf`). -/
def exact : OpTag → Bool
  | sigmoid | tanh | batchnorm | softmax | maskedSoftmax | layernorm | gelu => false
  | _ => true

end OpTag

/-- `true` when `n` operands are allowed. -/
def arityOk (op : OpTag) (n : Nat) : Bool :=
  Nat.ble op.minArity n && (match op.maxArity with
    | some m => Nat.ble n m
    | none => true)

/-- `true` when the attributes are exactly the op's schema: the same names in the same order,
each value of the stated kind (the Python canonical form that `make_node` produces). -/
def attrsMatch : List (AttrKey × AttrKind) → Attrs → Bool
  | [], [] => true
  | (k, kind) :: sch, (k', v) :: rest => decide (k = k') && decide (kind = v.kind) && attrsMatch sch rest
  | _, _ => false

/-- `true` when `attrs` fits the op's attribute schema. -/
def attrsOk (op : OpTag) (attrs : Attrs) : Bool := attrsMatch op.schema attrs

end Pytorch2Lean
