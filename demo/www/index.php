<?php
$name = isset($_POST['name']) && $_POST['name'] !== '' ? $_POST['name'] : 'visitor';
?><!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>foyer</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<main>
<h1>Hello, <?= htmlspecialchars($name) ?>.</h1>
<p>This page is PHP <?= PHP_VERSION ?>, run by PHP-FPM and served by
<?= htmlspecialchars($_SERVER['SERVER_SOFTWARE']) ?> over FastCGI.</p>
<form method="post" action="/">
<label>Your name <input name="name" autocomplete="off"></label>
<button>Say hello</button>
</form>
<table>
<tr><th>Request</th><td><?= htmlspecialchars($_SERVER['REQUEST_METHOD'] . ' ' . $_SERVER['REQUEST_URI']) ?></td></tr>
<tr><th>Script</th><td><?= htmlspecialchars($_SERVER['SCRIPT_NAME']) ?></td></tr>
<tr><th>Client</th><td><?= htmlspecialchars($_SERVER['REMOTE_ADDR']) ?></td></tr>
</table>
<p><a href="/index.html">The static page</a> ·
<a href="/server-status">Server status</a></p>
</main>
</body>
</html>
