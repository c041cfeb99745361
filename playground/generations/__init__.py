"""Jobs and their images: the `Generation` row is the truth; `jobs` moves it on
(claim → submit → poll → archive); `references` keeps the images people edit from."""
