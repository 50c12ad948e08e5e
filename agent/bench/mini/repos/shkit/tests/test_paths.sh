test_ext() {
    assert_eq "$(path_ext src/main.tar.gz)" "gz"
}

test_ext_none() {
    assert_eq "$(path_ext bin/run)" ""
}

test_ext_dotfile() {
    assert_eq "$(path_ext ~/.bashrc)" ""
}

test_stem() {
    assert_eq "$(path_stem docs/guide.md)" "guide"
}

test_stem_dotfile() {
    assert_eq "$(path_stem .profile)" ".profile"
}
