test_trim_spaces() {
    assert_eq "$(trim '  a b  ')" "a b"
}

test_trim_blank() {
    assert_eq "$(trim '   ')" ""
}

test_join_by_comma() {
    assert_eq "$(join_by , a b c)" "a,b,c"
}

test_join_by_one_item() {
    assert_eq "$(join_by , a)" "a"
}

test_repeat_str() {
    assert_eq "$(repeat_str ab 3)" "ababab"
}
