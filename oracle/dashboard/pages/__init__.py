"""One module per page: each turns a `View` into the plain values its template shows."""
