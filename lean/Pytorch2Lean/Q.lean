/-
Exact rationals for the denotation of a network.

`Q` is sign and magnitude over `Nat`, always normalised (`den > 0`, `gcd num den = 1`, zero is
`⟨false, 0, 1⟩`), so equal numbers have equal representations and `=` is decided field by field.
Every operation is written with the kernel-accelerated `Nat` functions (`Nat.add`, `Nat.mul`,
`Nat.gcd`, `Nat.ble`, ...) applied directly, `nat_lit` literals and `cond` on `Bool`: the kernel
evaluates such terms with GMP and few unfolding steps, which is what makes `decide +kernel` on a
whole network affordable (type-class arithmetic and `if` on decidable propositions cost several
times more kernel steps per operation).
-/
namespace Pytorch2Lean

/-- An exact rational number: a sign, a magnitude and a positive denominator, in lowest terms. -/
structure Q where
  /-- `true` for a negative number (never for zero). -/
  neg : Bool
  /-- The magnitude of the numerator. -/
  num : Nat
  /-- The denominator, positive and coprime to `num`. -/
  den : Nat
  deriving DecidableEq

namespace Q

/-- Zero. -/
def zero : Q := ⟨false, nat_lit 0, nat_lit 1⟩

/-- One. -/
def one : Q := ⟨false, nat_lit 1, nat_lit 1⟩

/-- `n / d` with sign `s`, divided through by `g` (their gcd, at every call). The division is
taken only when checked exact (`(n / g) * g = n` and `(d / g) * g = d`, always so for the gcd),
so that the value is visibly unchanged: the order lemmas (`QOrder`) then need no theory of `gcd`
or of division, only that a checked product is a product. -/
def divBy (s : Bool) (n d g : Nat) : Q :=
  cond (Nat.beq g (nat_lit 1)) ⟨s, n, d⟩
    (cond (Nat.beq (Nat.mul (Nat.div n g) g) n && Nat.beq (Nat.mul (Nat.div d g) g) d)
      ⟨s, Nat.div n g, Nat.div d g⟩ ⟨s, n, d⟩)

/-- The normalised rational `(-1)^s * n / d`; a zero denominator gives zero (callers exclude it). -/
def make (s : Bool) (n d : Nat) : Q :=
  cond (Nat.beq n (nat_lit 0)) zero
    (cond (Nat.beq d (nat_lit 0)) zero (divBy s n d (Nat.gcd n d)))

/-- The natural number `n` as a rational. -/
def ofNat (n : Nat) : Q := ⟨false, n, nat_lit 1⟩

/-- `true` when the number is negative (a non-canonical negative zero counts as zero). -/
def isNeg (a : Q) : Bool := a.neg && !(Nat.beq a.num (nat_lit 0))

/-- `true` when the number is zero. -/
def isZero (a : Q) : Bool := Nat.beq a.num (nat_lit 0)

/-- Negation. -/
def neg' (a : Q) : Q := cond (isZero a) zero ⟨!a.neg, a.num, a.den⟩

/-- The sum of `(-1)^s x / d` and `(-1)^t y / d` over one common denominator `d`. -/
def addOver (s : Bool) (x : Nat) (t : Bool) (y : Nat) (d : Nat) : Q :=
  cond (s == t) (make s (Nat.add x y) d)
    (cond (Nat.ble y x) (make s (Nat.sub x y) d) (make t (Nat.sub y x) d))

/-- Addition. -/
def add (a b : Q) : Q :=
  cond (Nat.beq a.den b.den) (addOver a.neg a.num b.neg b.num a.den)
    (addOver a.neg (Nat.mul a.num b.den) b.neg (Nat.mul b.num a.den) (Nat.mul a.den b.den))

/-- Subtraction. -/
def sub (a b : Q) : Q := add a (neg' b)

/-- Multiplication. -/
def mul (a b : Q) : Q := make (a.neg != b.neg) (Nat.mul a.num b.num) (Nat.mul a.den b.den)

/-- Division; dividing by zero gives zero (the denotation refuses zero divisors before this). -/
def div (a b : Q) : Q :=
  cond (isZero b) zero (make (a.neg != b.neg) (Nat.mul a.num b.den) (Nat.mul a.den b.num))

/-- `a ≤ b`, decided by cross-multiplication. -/
def ble (a b : Q) : Bool :=
  cond (isNeg a)
    (cond (isNeg b) (Nat.ble (Nat.mul b.num a.den) (Nat.mul a.num b.den)) true)
    (cond (isNeg b) false (Nat.ble (Nat.mul a.num b.den) (Nat.mul b.num a.den)))

/-- `a < b`. -/
def blt (a b : Q) : Bool := !(ble b a)

/-- The larger of two rationals. -/
def max (a b : Q) : Q := cond (ble a b) b a

/-- The smaller of two rationals. -/
def min (a b : Q) : Q := cond (ble a b) a b

/-- Addition of rationals. -/
instance : Add Q := ⟨add⟩
/-- Subtraction of rationals. -/
instance : Sub Q := ⟨sub⟩
/-- Multiplication of rationals. -/
instance : Mul Q := ⟨mul⟩
/-- Division of rationals (by zero: zero). -/
instance : Div Q := ⟨div⟩
/-- Negation of rationals. -/
instance : Neg Q := ⟨neg'⟩
/-- The larger of two rationals. -/
instance : Max Q := ⟨max⟩
/-- The smaller of two rationals. -/
instance : Min Q := ⟨min⟩
/-- `a ≤ b` on rationals. -/
instance : LE Q := ⟨fun a b => ble a b = true⟩
/-- `a < b` on rationals. -/
instance : LT Q := ⟨fun a b => blt a b = true⟩
/-- Numerals as rationals. -/
instance : OfNat Q n := ⟨ofNat n⟩
/-- Zero is the default rational. -/
instance : Inhabited Q := ⟨zero⟩

/-- `≤` on `Q` is decided by `Q.ble`. -/
instance decLe (a b : Q) : Decidable (a ≤ b) := instDecidableEqBool (ble a b) true

/-- `<` on `Q` is decided by `Q.blt`. -/
instance decLt (a b : Q) : Decidable (a < b) := instDecidableEqBool (blt a b) true

end Q

end Pytorch2Lean
