"""`rig bisect`: from "this got slower (or broke) between two commits" to the commit that
did it: the range, the search, each step's verdict, and the bisection's report."""
