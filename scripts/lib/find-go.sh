# Sourced by the setup scripts: puts a Go toolchain of at least the given version first on PATH, or stops
# naming every place it looked. Go installed from its own tarball lives in /usr/local/go/bin, which a
# login shell's PATH (/usr/local/bin:/usr/bin:/bin:...) lacks; Debian's golang packages in /usr/lib/go-*.
#
#   . scripts/lib/find-go.sh && find_go 1.26 "the Pulumi CLI"
find_go() {
  local min=$1 purpose=$2 candidate version found=()
  for candidate in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$HOME/go/bin/go" "$HOME"/sdk/go*/bin/go /usr/lib/go-*/bin/go; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version=$("$candidate" env GOVERSION 2>/dev/null | sed 's/^go//')
    found+=("$candidate ${version:-of unknown version}")
    if [ -n "$version" ] && [ "$(printf '%s\n%s\n' "$min" "$version" | sort -V | head -n1)" = "$min" ]; then
      PATH="$(dirname "$candidate"):$PATH"
      export PATH
      return 0
    fi
  done
  printf 'ERROR: Go >= %s is required to build %s. Looked on PATH, in /usr/local/go/bin, ~/go/bin, ~/sdk/go*/bin and /usr/lib/go-*/bin; found %s. Install Go from https://go.dev/dl (or your distribution'"'"'s) and run this again.\n' \
    "$min" "$purpose" "$(if [ ${#found[@]} -eq 0 ]; then echo none; else printf '%s, ' "${found[@]}" | sed 's/, $/ (too old)/'; fi)" >&2
  return 1
}
