# Path helpers. Each function prints its result on stdout.

# path_ext PATH: the extension of the file name, without the dot ("" if none).
path_ext() {
    local name=${1##*/}
    [[ $name == *.* && $name != .* ]] || { printf '\n'; return; }
    printf '%s\n' "${name##*.}"
}

# path_stem PATH: the file name without its directory and extension.
path_stem() {
    local name=${1##*/}
    [[ $name == .* ]] && { printf '%s\n' "$name"; return; }
    printf '%s\n' "${name%.*}"
}
