using HeadClassifier.Server;

var app = ServerHost.Build(args);
app.Run();
