# split_csv(line, fields): splits one line of membio_bench's CSV output into
# fields[1..n] and returns n. Fields may be quoted, and a quoted field may
# hold commas and doubled quotes. For plot.sh and ceiling.sh.
function split_csv(line, fields,    n, i, c, field, quoted) {
  n = 0
  field = ""
  quoted = 0
  for (i = 1; i <= length(line); i++) {
    c = substr(line, i, 1)
    if (quoted && c == "\"" && substr(line, i + 1, 1) == "\"") {
      field = field c
      i++
    } else if (c == "\"") {
      quoted = !quoted
    } else if (c == "," && !quoted) {
      fields[++n] = field
      field = ""
    } else {
      field = field c
    }
  }
  fields[++n] = field
  return n
}
