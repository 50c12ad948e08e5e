# String helpers. Each function prints its result on stdout.

# trim TEXT: TEXT without its leading and trailing whitespace.
trim() {
    local text=$1
    text=${text#"${text%%[! ]*}"}
    text=${text%"${text##*[! ]}"}
    printf '%s\n' "$text"
}

# join_by SEPARATOR ITEM...: the items joined by SEPARATOR.
join_by() {
    local IFS=$1
    shift
    printf '%s\n' "$*"
}

# repeat_str TEXT COUNT: TEXT repeated COUNT times.
repeat_str() {
    local out="" i
    for ((i = 0; i < $2; i++)); do out+=$1; done
    printf '%s\n' "$out"
}
