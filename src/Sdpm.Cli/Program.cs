return Sdpm.Cli.CliApp.Run(args, Console.Out, Console.Error);
