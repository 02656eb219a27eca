# shellcheck shell=bash
# Helpers shared by the launch scripts: errors, shell quoting and dry runs.
# Sourced, not run; needs bash >= 4.

# Prints a message naming the calling script (SCRIPT_NAME, or the file run) and exits with
# status 2 (bad usage or environment).
die() {
  echo "${SCRIPT_NAME:-$(basename "$0")}: $*" >&2
  exit 2
}

# Prints its arguments as one line that bash parses back into the same words, so that a
# dry run can be copied and pasted and a remote command survives ssh's extra shell.
shell_quote() {
  local safe='^[A-Za-z0-9_./:=@%+,-]+$' out=() arg
  for arg in "$@"; do
    if [[ $arg =~ $safe ]]; then
      out+=("$arg")
    else
      out+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s' "${out[*]}"
}

# Runs a command, or prints it when DRY_RUN=1.
run() {
  if [[ ${DRY_RUN:-0} == 1 ]]; then
    shell_quote "$@"
    echo
  else
    "$@"
  fi
}

# Fails unless $2 (the value of option $1) is a positive integer.
require_positive_int() {
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"
}

# Fails when option $1 has no value left on the command line ($2 = arguments left).
require_value() {
  (($2 >= 2)) || die "$1 needs a value"
}
