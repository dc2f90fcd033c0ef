"""Result tables, significance tests and figures."""
