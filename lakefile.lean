import Lake
open Lake DSL

-- The pytorch2lean Lean library: core Lean only (no Mathlib, no Std).
package pytorch2lean where
  srcDir := "lean"

@[default_target]
lean_lib Pytorch2Lean where
