"""Everything that faces the Hugging Face Hub: the dataset card and publishing."""
