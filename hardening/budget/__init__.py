"""One budget, three levers: new cameras, camera repairs and housing works in one MILP."""
