// The console's entry module (replaced by the full console).
document.getElementById("app").textContent = "ZakOps console";
