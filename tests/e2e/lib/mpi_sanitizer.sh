# Sourced by the e2e scripts that start mpirun. Under AddressSanitizer (the asan preset sets
# PIPELINE_SANITIZED), LeakSanitizer must see through Open MPI's plugins, built without frame
# pointers: the fast unwinder stops at their first frame, leaving nothing that
# tests/e2e/lsan.supp can name. The slow unwinder costs time on every allocation, so only
# these scripts pay for it.
if [[ -n ${PIPELINE_SANITIZED:-} ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
fi
