"""Value ahead: probability alive, expected purchases and customer lifetime value (BG/NBD and
Gamma-Gamma), fitted by maximum likelihood (issue 27; the models and marts come next)."""
