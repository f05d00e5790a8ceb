"""One module per REST area; each borrows the client's transport."""
