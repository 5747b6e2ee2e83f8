/-
Input-split trees: branch and bound's certificates (`pytorch2lean.bab.v1`) as Lean theorems.

Branch and bound cuts the input box in two at a coordinate, again and again, until a whole-box
certificate (`checkIBP`, `checkCROWN`) proves the claim on each piece. `safe_split` is the one
fact a tree needs: a claim that holds on both halves of a cut holds on the box, because every
point lies in one of them (`≤` on rationals is total). An exported tree is a term of nested
`safe_split`s over its leaves' theorems, each leaf's box written as the cuts that lead to it
(`lowerHalf`, `upperHalf`), so the kernel checks that the leaves cover the box when it checks
the term; nothing in the proof depends on the model.

The leaves prove the claim together with "the output's elements are rationals"
(`checkCROWN_sound_wf`), the form the robustness corollary (`robust_of_safe`) reads;
`safe_weaken` drops what a statement does not need.
-/
import Pytorch2Lean.Staged

namespace Pytorch2Lean

/-- `l` with element `i` replaced by `v` (unchanged when `i` is past its end). -/
def setNth {α : Type} : List α → Nat → α → List α
  | [], _, _ => []
  | _ :: as, 0, v => v :: as
  | a :: as, i + 1, v => a :: setNth as i v

/-- `l` with `f` applied to element `i` (unchanged when `i` is past its end). -/
def modNth {α : Type} (f : α → α) : List α → Nat → List α
  | [], _ => []
  | a :: as, 0 => f a :: as
  | a :: as, i + 1 => a :: modNth f as i

/-- The half of `box` where coordinate `dim` (flat) of input `inp` is at most `cut`. -/
def lowerHalf (box : Box) (inp dim : Nat) (cut : Q) : Box :=
  modNth (fun b => (b.1, setNth b.2 dim cut)) box inp

/-- The half of `box` where coordinate `dim` (flat) of input `inp` is at least `cut`. -/
def upperHalf (box : Box) (inp dim : Nat) (cut : Q) : Box :=
  modNth (fun b => (setNth b.1 dim cut, b.2)) box inp

/-- A point at most `cut` at `dim` lies in the box with its upper end `cut` there. -/
theorem inBox_setHi {cut : Q} : {lo hi x : List Q} → InBox lo hi x → (dim : Nat) →
    nthD x dim Q.zero ≤ cut → InBox lo (setNth hi dim cut) x
  | _, _, _, .nil, dim, _ => by cases dim <;> exact InBox.nil
  | _, _, _, .cons hl _ hw rest, 0, hc => InBox.cons hl hc hw rest
  | _, _, _, .cons hl hh hw rest, d + 1, hc => InBox.cons hl hh hw (inBox_setHi rest d hc)

/-- A point at least `cut` at `dim` lies in the box with its lower end `cut` there. -/
theorem inBox_setLo {cut : Q} : {lo hi x : List Q} → InBox lo hi x → (dim : Nat) →
    cut ≤ nthD x dim Q.zero → InBox (setNth lo dim cut) hi x
  | _, _, _, .nil, dim, _ => by cases dim <;> exact InBox.nil
  | _, _, _, .cons _ hh hw rest, 0, hc => InBox.cons hc hh hw rest
  | _, _, _, .cons hl hh hw rest, d + 1, hc => InBox.cons hl hh hw (inBox_setLo rest d hc)

/-- Inputs in a box lie in the box with input `inp`'s bounds changed by `f`, when `f` keeps every
point with property `P` that lies in the old bounds, and input `inp` has `P`. -/
theorem inBoxes_modNth {f : List Q × List Q → List Q × List Q} {P : List Q → Prop}
    (hf : ∀ lo hi x, InBox lo hi x → P x → InBox (f (lo, hi)).1 (f (lo, hi)).2 x) :
    {box : Box} → {xs : List (List Q)} → InBoxes box xs → (inp : Nat) → P (nthD xs inp []) →
    InBoxes (modNth f box inp) xs
  | _, _, .nil, inp, _ => by cases inp <;> exact InBoxes.nil
  | _, _, .cons hx rest, 0, hp => InBoxes.cons (hf _ _ _ hx hp) rest
  | _, _, .cons hx rest, i + 1, hp => InBoxes.cons hx (inBoxes_modNth hf rest i hp)

/-- Every coordinate of a point in a box is a rational (`Q.zero` past the end). -/
theorem inBox_nthD_wf : {lo hi x : List Q} → InBox lo hi x → (dim : Nat) → (nthD x dim Q.zero).WF
  | _, _, _, .nil, dim => by cases dim <;> exact Q.zero_wf
  | _, _, _, .cons _ _ hw _, 0 => hw
  | _, _, _, .cons _ _ _ rest, d + 1 => inBox_nthD_wf rest d

/-- Every coordinate of every input in a box is a rational (`Q.zero` past the ends). -/
theorem inBoxes_nthD_wf : {box : Box} → {xs : List (List Q)} → InBoxes box xs → (inp dim : Nat) →
    (nthD (nthD xs inp []) dim Q.zero).WF
  | _, _, .nil, inp, dim => by cases inp <;> cases dim <;> exact Q.zero_wf
  | _, _, .cons hx _, 0, dim => inBox_nthD_wf hx dim
  | _, _, .cons _ rest, i + 1, dim => inBoxes_nthD_wf rest i dim

/-- **Input splits.** A claim that holds on both halves of a cut (at a rational `cut`: a positive
denominator, checked by `rfl`) holds on the box. -/
theorem safe_split {g : Graph} {params : List (List Q)} {S : List (List Q) → Prop} (box : Box)
    (inp dim : Nat) (cut : Q) (hc : Nat.ble 1 cut.den = true) (below : Safe g params (lowerHalf box inp dim cut) S)
    (above : Safe g params (upperHalf box inp dim cut) S) : Safe g params box S := by
  intro E hE xs hx
  have hw := inBoxes_nthD_wf hx inp dim
  cases h : Q.ble (nthD (nthD xs inp []) dim Q.zero) cut with
  | true =>
    exact below E hE xs (inBoxes_modNth (P := fun x => nthD x dim Q.zero ≤ cut)
      (fun _ _ _ hb hp => inBox_setHi hb dim hp) hx inp h)
  | false =>
    exact above E hE xs (inBoxes_modNth (P := fun x => cut ≤ nthD x dim Q.zero)
      (fun _ _ _ hb hp => inBox_setLo hb dim hp) hx inp (Q.le_of_ble_false hw (nat_le_of_ble_eq_true hc) h))

/-- A statement that implies another on every output proves it. -/
theorem safe_weaken {g : Graph} {params : List (List Q)} {box : Box} {S T : List (List Q) → Prop}
    (hst : ∀ ys, S ys → T ys) (h : Safe g params box S) : Safe g params box T := by
  intro E hE xs hx
  obtain ⟨ys, hys, hs⟩ := h E hE xs hx
  exact ⟨ys, hys, hst ys hs⟩

/-- What a tree's theorem states: the property of output `out`, dropping that its elements are
rationals. -/
theorem safe_holds {g : Graph} {params : List (List Q)} {box : Box} {out : Nat} {p : OutProp}
    (h : Safe g params box (fun ys => AllWF (nthD ys out []) ∧ p.Holds (nthD ys out []))) :
    Safe g params box (fun ys => p.Holds (nthD ys out [])) :=
  safe_weaken (fun _ hs => hs.2) h

end Pytorch2Lean
